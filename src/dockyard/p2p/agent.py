"""``dockyard p2p agent``: a node's registry mirror whose blobs come from the swarm.

Routes on ``--listen``:

- ``GET /v2/`` — the mirror's ping (docker, containerd and podman ask it first);
- containerd's mirror requests carry ``?ns=<upstream host>``: the agent answers for its
  registry's host and the hosts of ``mirror_of``; another ``ns`` gets 404 ``NAME_UNKNOWN``,
  on which containerd goes on to its next host (the upstream itself);
- ``GET|HEAD /v2/<name>/manifests/<ref>`` — proxied to the registry with the agent's
  credentials (manifests are small and must be current);
- ``GET|HEAD /v2/<name>/blobs/<digest>`` — small blobs straight from the registry; the rest
  from the swarm: the registry's torrent, libtorrent, the whole file's digest checked, then
  sent (never a byte that is not verified);
- ``GET /_dockyard/seed/<secret>/<name>/<digest>`` — the torrent's web seed (BEP 19): ranges
  forwarded to the registry with the agent's credentials. Only this agent's libtorrent knows
  the secret path; a range whose pieces a connected peer holds is deferred (503,
  ``Retry-After``) so the registry is the source of last resort;
- ``POST /_dockyard/preheat`` ``{"image": "team/app:v1"}`` — fetch and seed an image's blobs;
  with a preheat token, only for ``Authorization: Bearer <token>``;
- ``GET /metrics`` — the counters (``dockyard.p2p.counters``).

With ``admin_listen`` (``--admin-listen``), the last two are served on that address only (as
registry:2 serves its metrics on ``http.debug.addr``), and ``--listen`` answers 404 for them.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from dockyard.client import ClientOptions, Credentials
from dockyard.digest import Digest
from dockyard.errors import (
    DockyardError,
    InvalidArgument,
    NameUnknown,
    NotFound,
    Unauthorized,
    Unavailable,
)
from dockyard.p2p.counters import Counters
from dockyard.p2p.swarm import Swarm, SwarmSettings
from dockyard.p2p.upstream import Upstream

__all__ = ["Agent", "AgentConfig", "PreheatResult"]

log = logging.getLogger("dockyard.p2p")

#: Blobs smaller than this come from the registry directly (a torrent would cost more).
DIRECT_BELOW = 1 << 20
#: What a mirror client accepts when it sends no Accept header.
DEFAULT_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = rf"{_COMPONENT}(?:/{_COMPONENT})*"
_MANIFEST = re.compile(rf"/v2/({_NAME})/manifests/([A-Za-z0-9_.:+=-]+)")
_BLOB = re.compile(rf"/v2/({_NAME})/blobs/(sha256:[a-f0-9]{{64}})")
#: libtorrent appends "/<file name>" to a web seed of a torrent it sees as several files (a
#: v2 torrent whose blob is not a whole number of pieces gets a tail pad file)
_SEED = re.compile(rf"/_dockyard/seed/([A-Za-z0-9_-]+)/({_NAME})/(sha256:([a-f0-9]{{64}}))(?:/\4)?")
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")
#: The shortest and longest preheat token taken.
MIN_TOKEN, MAX_TOKEN = 16, 4096
PREHEAT = "/_dockyard/preheat"
METRICS = "/metrics"


def parse_host_port(text: str, option: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT``) of an address option; InvalidArgument naming it."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise InvalidArgument(f"{option} {text!r} is not HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


def loopback(host: str) -> bool:
    """Is ``host`` (an address to listen on) reachable from this machine only?"""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_token(token: str | None) -> str | None:
    """A preheat token as given (None: none), or InvalidArgument saying why not."""
    if token is None:
        return None
    if not MIN_TOKEN <= len(token) <= MAX_TOKEN or not token.isprintable() or " " in token:
        raise InvalidArgument(
            f"the preheat token must be {MIN_TOKEN} to {MAX_TOKEN} printable characters "
            "without spaces",
            hint="e.g. `openssl rand -hex 32`",
        )
    return token


@dataclass(frozen=True, slots=True)
class AgentConfig:
    registry: str
    data: Path
    listen: str = "127.0.0.1:5050"
    peer_listen: str = "0.0.0.0:6881"
    credentials: Credentials | None = None
    trackers: tuple[str, ...] = ()
    upload_limit: int = 0
    download_limit: int = 0
    direct_below: int = DIRECT_BELOW
    timeout: float = 3600.0
    options: ClientOptions = field(default_factory=ClientOptions)
    #: upstream hosts (containerd's ``?ns=``) the registry stands in for besides its own
    #: host, e.g. ``docker.io`` when it holds Docker Hub's names
    mirror_of: tuple[str, ...] = ()
    #: HOST:PORT serving /metrics and preheat instead of ``listen`` (None: ``listen`` does)
    admin_listen: str | None = None
    #: the bearer token ``POST /_dockyard/preheat`` needs (None: none)
    preheat_token: str | None = None

    @property
    def namespaces(self) -> frozenset[str]:
        """The ``ns`` values the agent answers for (the registry's host also without its
        scheme's default port, as an image reference names it)."""
        url = urlsplit(self.registry if "://" in self.registry else f"//{self.registry}")
        own = [url.netloc]
        if url.hostname and url.port == {"http": 80}.get(url.scheme, 443):
            own.append(url.hostname)
        return frozenset(h.lower() for h in (*own, *self.mirror_of) if h)

    @property
    def host_port(self) -> tuple[str, int]:
        return parse_host_port(self.listen, "--listen")

    @property
    def admin_host_port(self) -> tuple[str, int] | None:
        if self.admin_listen is None:
            return None
        return parse_host_port(self.admin_listen, "--admin-listen")


@dataclass(frozen=True, slots=True)
class PreheatResult:
    image: str
    blobs: tuple[tuple[str, int], ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "blobs": [{"digest": d, "size": s} for d, s in self.blobs],
        }


class Agent:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.counters = Counters()
        self.upstream = Upstream(config.registry, config.credentials, config.options)
        self.secret = secrets.token_urlsafe(18)
        self.preheat_token = check_token(config.preheat_token)
        host, port = config.host_port
        admin = config.admin_host_port
        self.server = ThreadingHTTPServer((host, port), _handler_class(self, admin=admin is None))
        self.server.daemon_threads = True
        #: the admin address's server (metrics, preheat), when it is a separate one
        self.admin: ThreadingHTTPServer | None = None
        #: the servers :meth:`start` started
        self._serving: list[ThreadingHTTPServer] = []
        if admin is not None:
            try:
                self.admin = ThreadingHTTPServer(
                    admin, _handler_class(self, admin=True, mirror=False)
                )
            except OSError:
                self.server.server_close()
                raise
            self.admin.daemon_threads = True
        preheat_at = admin or (host, port)
        if self.preheat_token is None and not loopback(preheat_at[0]):
            log.warning(
                "POST %s on %s:%d takes no token: anyone who reaches it can make this agent "
                "fetch what its credentials may pull (give --preheat-token)", PREHEAT,
                *preheat_at,
            )  # fmt: skip
        # after the server: a torrent resumed from an earlier run gets this run's web seed
        self.swarm = Swarm(
            SwarmSettings(
                data=config.data,
                peer_listen=config.peer_listen,
                trackers=config.trackers,
                upload_limit=config.upload_limit,
                download_limit=config.download_limit,
                timeout=config.timeout,
            ),
            self.counters,
            web_seed=self._current_seed_url,
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def admin_port(self) -> int | None:
        """The admin address's port (None: metrics and preheat are on :attr:`port`)."""
        return None if self.admin is None else int(self.admin.server_address[1])

    def seed_url(self, name: str, digest: str) -> str:
        host = self.config.host_port[0]
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://{host}:{self.port}/_dockyard/seed/{self.secret}/{name}/{digest}"

    def _current_seed_url(self, stored: str) -> str | None:
        """This run's web seed for a torrent stored with ``stored`` (an earlier run's seed
        route, whose port and secret are gone), or None when it is not one."""
        m = _SEED.search(urlsplit(stored).path)
        return None if m is None else self.seed_url(m.group(2), m.group(3))

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.2)

    def start(self) -> threading.Thread:
        if self.admin is not None:
            admin = self.admin
            threading.Thread(
                target=lambda: admin.serve_forever(poll_interval=0.2), name="p2p-agent-admin",
                daemon=True,
            ).start()  # fmt: skip
            self._serving.append(admin)
        thread = threading.Thread(target=self.serve_forever, name="p2p-agent", daemon=True)
        thread.start()
        self._serving.append(self.server)
        return thread

    def close(self) -> None:
        self.swarm.close()  # first: its web seed connections to this server end
        for server in self._serving:  # (shutdown waits for a loop that must have started)
            server.shutdown()
        self._serving.clear()
        self.server.server_close()
        if self.admin is not None:
            self.admin.server_close()

    def may_preheat(self, authorization: str | None) -> bool:
        """Does ``authorization`` (the request's header) carry the preheat token, when there
        is one?"""
        if self.preheat_token is None:
            return True
        scheme, _, token = (authorization or "").strip().partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(
            token.strip().encode(), self.preheat_token.encode()
        )

    # --- the library surface ---------------------------------------------------------------

    def blob(self, name: str, digest: str) -> tuple[Path | None, int]:
        """``(path, size)`` of a verified local copy; ``(None, size)`` for a small blob the
        caller should fetch directly."""
        found = self.swarm.have(digest)
        if found is not None:
            return found, found.stat().st_size
        size = self.upstream.blob_size(name, digest)
        if size < self.config.direct_below:
            return None, size
        path = self.swarm.fetch(
            digest, lambda: self.upstream.torrent(name, digest), self.seed_url(name, digest)
        )
        self.counters.add("blobs_swarm")
        return path, path.stat().st_size

    def preheat(self, image: str) -> PreheatResult:
        """Fetch and seed every blob of ``image`` (``name:tag`` or ``name@digest``; an index:
        every image it lists)."""
        name, reference = _split_image(image)
        blobs: dict[str, int] = {}
        pending = [reference]
        while pending:
            ref = pending.pop()
            m = self.upstream.manifest(name, ref, DEFAULT_ACCEPT, head=False)
            self.counters.add("registry_bytes", len(m.body))
            doc = json.loads(m.body)
            if "manifests" in doc:
                pending.extend(str(d["digest"]) for d in doc["manifests"])
                continue
            for d in [doc.get("config"), *doc.get("layers", [])]:
                if d:
                    blobs[str(d["digest"])] = int(d["size"])
        threads = [
            threading.Thread(target=self._warm, args=(name, digest), daemon=True)
            for digest in blobs
        ]
        errors: list[DockyardError] = []
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for digest in blobs:
            if self.swarm.have(digest) is None and blobs[digest] >= self.config.direct_below:
                errors.append(NotFound(f"blob {digest} of {image} was not fetched"))
        if errors:
            raise errors[0]
        return PreheatResult(image, tuple(sorted(blobs.items())))

    def _warm(self, name: str, digest: str) -> None:
        try:
            self.blob(name, digest)
        except DockyardError as exc:
            log.warning("preheat of %s failed: %s", digest, exc)


def _split_image(image: str) -> tuple[str, str]:
    if "@" in image:
        name, _, ref = image.partition("@")
    else:
        slash = image.rfind("/")
        colon = image.rfind(":")
        name, ref = (image[:colon], image[colon + 1 :]) if colon > slash else (image, "latest")
    if not re.fullmatch(_NAME, name):
        raise InvalidArgument(
            f"image {image!r} is not NAME[:TAG] or NAME@DIGEST of the agent's registry",
            hint="name the repository without the registry host, e.g. team/app:v1",
        )
    return name, ref


def _handler_class(
    agent: Agent, *, admin: bool, mirror: bool = True
) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        pass

    Handler.agent = agent
    Handler.admin = admin
    Handler.mirror = mirror
    return Handler


class _Handler(BaseHTTPRequestHandler):
    agent: Agent
    #: serves /metrics and preheat
    admin: bool
    #: serves the mirror's routes (/v2/…, the web seed)
    mirror: bool
    protocol_version = "HTTP/1.1"
    server_version = "dockyard-p2p"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def _elsewhere(self, path: str) -> NotFound:
        return NotFound(
            f"no such endpoint {path} on this address",
            hint=f"{METRICS} and {PREHEAT} are on the agent's --admin-listen address",
        )

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        try:
            if path != PREHEAT:
                raise NotFound(f"no such endpoint {path}")
            if not self.admin:
                raise self._elsewhere(path)
            if not self.agent.may_preheat(self.headers.get("Authorization")):
                self.close_connection = True  # the body is not read
                raise Unauthorized(
                    "preheat needs this agent's token: Authorization: Bearer <token>",
                    hint="dockyard p2p preheat --token-file FILE (or DOCKYARD_P2P_PREHEAT_TOKEN)",
                )
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            image = body.get("image") if isinstance(body, dict) else None
            if not isinstance(image, str):
                raise InvalidArgument('preheat needs a JSON body {"image": "team/app:v1"}')
            result = self.agent.preheat(image)
            self._send(200, json.dumps(result.as_json()).encode(), "application/json")
        except DockyardError as exc:
            self._error(exc)
        except (ValueError, UnicodeDecodeError) as exc:
            self._error(InvalidArgument(f"preheat body is not JSON: {exc}"))

    def _dispatch(self, head: bool) -> None:
        path, _, query = self.path.partition("?")
        path = unquote(path)
        try:
            ns = parse_qs(query).get("ns")
            if ns and path.startswith("/v2/") and ns[0].lower() not in self.agent.config.namespaces:
                raise NameUnknown(
                    f"this p2p agent mirrors {', '.join(sorted(self.agent.config.namespaces))}, "
                    f"not {ns[0]}",
                    hint="list the host in the agent's --mirror-of",
                )
            if path == METRICS and not self.admin:
                raise self._elsewhere(path)
            if path != METRICS and not self.mirror:
                raise NotFound(
                    f"no such endpoint {path} on the agent's admin address",
                    hint=f"it serves {METRICS} and POST {PREHEAT}; the mirror is on --listen",
                )
            if path in ("/v2", "/v2/"):
                self._send(200, b"{}", "application/json", head=head)
            elif path == METRICS:
                down, up = self.agent.swarm.totals()
                body = self.agent.counters.render(down, up, *self.agent.swarm.holdings())
                self._send(200, body, "text/plain; version=0.0.4", head=head)
            elif m := _MANIFEST.fullmatch(path):
                self._manifest(m.group(1), m.group(2), head)
            elif m := _BLOB.fullmatch(path):
                self._blob(m.group(1), m.group(2), head)
            elif (m := _SEED.fullmatch(path)) and secrets.compare_digest(
                m.group(1), self.agent.secret
            ):
                self._seed(m.group(2), m.group(3))
            else:
                raise NotFound(f"no such endpoint {path} on this p2p agent")
        except DockyardError as exc:
            self._error(exc, head=head)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            log.exception("%s %s failed", self.command, path)
            self._error(Unavailable("the agent failed; see its log"), head=head)

    def _manifest(self, name: str, reference: str, head: bool) -> None:
        accept = ", ".join(self.headers.get_all("Accept") or []) or DEFAULT_ACCEPT
        m = self.agent.upstream.manifest(name, reference, accept, head)
        self.agent.counters.add("registry_bytes", len(m.body))
        headers = {"Docker-Content-Digest": m.digest} if m.digest else {}
        self._send(200, m.body, m.media_type, head=head, headers=headers, length=m.length)

    def _blob(self, name: str, digest: str, head: bool) -> None:
        Digest.parse(digest)
        headers = {"Docker-Content-Digest": digest}
        if head:
            found = self.agent.swarm.have(digest)
            size = found.stat().st_size if found else self.agent.upstream.blob_size(name, digest)
            self._send(
                200, b"", "application/octet-stream", head=True, headers=headers, length=size
            )
            return
        path, size = self.agent.blob(name, digest)
        if path is None:  # small: straight from the registry, checked as it passes
            _, _, chunks = self.agent.upstream.blob(name, digest)
            data = b"".join(chunks)
            self.agent.counters.add("registry_bytes", len(data))
            Digest.parse(digest).verify(data)
            self.agent.counters.add("blobs_direct")
            self._send(200, data, "application/octet-stream", headers=headers)
            self.agent.counters.add("blobs_served")
            return
        self._start(200, "application/octet-stream", size, headers)
        with open(path, "rb") as f:
            self._copy(iter(lambda: f.read(1 << 20), b""))
        self.agent.counters.add("blobs_served")

    def _seed(self, name: str, digest: str) -> None:
        """libtorrent's web seed: one range of the blob, forwarded with our credentials."""
        m = _RANGE.fullmatch(self.headers.get("Range", "").strip())
        first = int(m.group(1)) if m else 0
        last = int(m.group(2)) if m and m.group(2) else None
        if m and last is not None and self.agent.swarm.defer_web_seed(digest, first, last):
            self.agent.counters.add("webseed_deferred")
            self._send(503, b"", "text/plain", headers={"Retry-After": "1"})
            return
        try:
            status, length, chunks = self.agent.upstream.blob(name, digest, first, last)
        except DockyardError as exc:  # 503: libtorrent retries; any other drops the seed
            log.warning("web seed range of %s failed: %s", digest, exc)
            self._send(503, b"", "text/plain", headers={"Retry-After": "2"})
            return
        headers = {}
        if status == 206:
            end = first + length - 1
            size = self.agent.swarm.size_of(digest)
            headers["Content-Range"] = f"bytes {first}-{end}/{size if size else '*'}"
        self._start(status, "application/octet-stream", length, headers)
        self._copy(chunks, count="webseed_bytes")

    # --- responses -------------------------------------------------------------------------

    def _start(self, status: int, ctype: str, length: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()

    def _copy(self, chunks: Iterator[bytes], count: str | None = None) -> None:
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
                if count is not None:
                    self.agent.counters.add(count, len(chunk))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:  # a generator over an upstream response: let it go now
                close()

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str,
        *,
        head: bool = False,
        headers: dict[str, str] | None = None,
        length: int | None = None,
    ) -> None:
        self._start(status, ctype, len(body) if length is None else length, headers or {})
        if not head and body:
            self.wfile.write(body)

    def _error(self, exc: DockyardError, head: bool = False) -> None:
        body = json.dumps({"errors": [{"code": exc.oci_code, "message": str(exc)}]}).encode()
        headers = {}
        if isinstance(exc, Unauthorized):
            headers["WWW-Authenticate"] = 'Bearer realm="dockyard-p2p-preheat"'
        self._send(exc.http_status, body, "application/json", head=head, headers=headers)
