"""A token-authenticated distribution 2.8.2 upstream for pull-through cache tests.

``docker-registry`` (Debian's distribution 2.8.2) runs with ``auth.token`` pointing at
dockyard's own token service (:func:`_infra.token_registry.token_registry`) and with its access
log on, so a test counts the requests that reached the upstream from the log itself. A
:class:`Relay` on loopback sits between a client (a mirror, a replication) and a registry and
can misbehave on demand: ``ratelimit`` answers 429, ``badmanifest`` answers every manifest
PUT with distribution's 400 DIGEST_INVALID (what it says when a blob link is read mid-write),
``cut`` sends half of every blob body then closes the connection, ``slow`` trickles blob
bodies (so concurrent clients overlap one fetch), ``hold`` stops every blob body half-way
until ``gate`` is set (``limited`` counts the 429 answers, ``held`` the bodies waiting at the
gate, ``refused`` the manifests refused); when the upstream process is stopped, the relay
closes connections without an answer, as a dead host would.
"""

from __future__ import annotations

import http.client
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _infra._process import terminate
from _infra._registry import DOCKER_REGISTRY, free_port, wait_for_http
from _infra.token_registry import ISSUER, SERVICE, AclGranter, token_registry

USER, PASSWORD = "mirror", "mirror-secret"
_ACCESS = re.compile(r'"([A-Z]+) (\S+) HTTP/[\d.]+" (\d{3})')
_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


@dataclass(frozen=True, slots=True)
class Hit:
    method: str
    path: str
    status: int


@dataclass
class Upstream:
    """distribution 2.8.2 on ``host``; ``hits()`` reads its access log."""

    host: str
    log: Path
    config: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        out = open(self.log, "ab")  # noqa: SIM115  # handed to the process
        self.process = subprocess.Popen(
            [DOCKER_REGISTRY, "serve", str(self.config)], stdout=out, stderr=subprocess.STDOUT
        )
        out.close()
        wait_for_http(f"http://{self.host}/v2/", self.process)

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process)
            self.process = None

    def hits(self) -> list[Hit]:
        """Every request in the access log so far (authentication challenges included)."""
        text = self.log.read_text(errors="replace")
        return [Hit(m[1], m[2], int(m[3])) for m in _ACCESS.finditer(text)]

    def hits_since(self, mark: int, *, settle: float = 0.3) -> list[Hit]:
        """Requests after the first ``mark``, once the log has stopped growing."""
        size = -1
        while self.log.stat().st_size != size:
            size = self.log.stat().st_size
            time.sleep(settle)
        return self.hits()[mark:]


def _config(root: Path, port: int, realm: str, cert: Path) -> str:
    return f"""version: 0.1
log:
  level: error
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {root / "data"}
http:
  addr: 127.0.0.1:{port}
  secret: dockyard-tests
auth:
  token:
    realm: {realm}
    service: {SERVICE}
    issuer: {ISSUER}
    rootcertbundle: {cert}
"""


@contextmanager
def token_upstream(root: Path) -> Iterator[Upstream]:
    """distribution 2.8.2 trusting dockyard's token service, where ``USER`` may pull and push
    everything and anonymous callers nothing."""
    granter = AclGranter({USER: PASSWORD}, {USER: {"": {"pull", "push"}}})
    with token_registry(root / "tokens", {USER: PASSWORD}, granter) as tokens:
        root.mkdir(parents=True, exist_ok=True)
        port = free_port()
        config = root / "config.yml"
        config.write_text(_config(root, port, f"{tokens.url}/service/token", tokens.cert))
        upstream = Upstream(f"127.0.0.1:{port}", root / "access.log", config)
        upstream.start()
        try:
            yield upstream
        finally:
            upstream.stop()


class Relay(ThreadingHTTPServer):
    """Forwards to ``upstream``; ``mode`` (pass, ratelimit, badmanifest, cut, slow, hold) may
    change any time."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _RelayHandler)
        self.upstream = upstream
        self.mode = "pass"
        #: in ``hold`` mode a blob body stops half-way until this is set
        self.gate = threading.Event()
        #: requests answered 429 in ``ratelimit`` mode
        self.limited = 0
        #: blob bodies stopped at the gate in ``hold`` mode, so far
        self.held = 0
        #: manifest PUTs refused in ``badmanifest`` mode
        self.refused = 0
        self._lock = threading.Lock()

    def count(self, what: str) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _RelayHandler(BaseHTTPRequestHandler):
    server: Relay
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _forward(self) -> None:
        mode = self.server.mode
        if mode == "ratelimit":
            self.server.count("limited")
            body = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}'
            self.send_response(429)
            self.send_header("Retry-After", "60")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body_in = self.rfile.read(length) if length else None
        if mode == "badmanifest" and self.command == "PUT" and "/manifests/" in self.path:
            self.server.count("refused")
            body = (b'{"errors":[{"code":"DIGEST_INVALID",'
                    b'"message":"provided digest did not match uploaded content"}]}')  # fmt: skip
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        conn = http.client.HTTPConnection(self.server.upstream, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            conn.request(self.command, self.path, body=body_in, headers=headers)
            resp = conn.getresponse()
        except OSError:  # the upstream is down: so is the relay, for this client
            self.close_connection = True
            return
        try:
            self._relay(resp, mode)
        finally:
            conn.close()

    def _relay(self, resp: http.client.HTTPResponse, mode: str) -> None:
        blob = self.command == "GET" and "/blobs/sha256:" in self.path and resp.status == 200
        self.send_response(resp.status)
        for key, value in resp.getheaders():
            if key.lower() not in _HOP:
                self.send_header(key, value)
        if resp.getheader("Content-Length") is None:
            self.send_header("Content-Length", "0")
        self.end_headers()
        if self.command == "HEAD":
            return
        total = int(resp.getheader("Content-Length") or 0)
        sent = 0
        while sent < total:
            chunk = resp.read(min(64 << 10, total - sent))
            if not chunk:
                break
            if blob and mode == "cut" and sent + len(chunk) >= total // 2:
                self.wfile.write(chunk[: total // 2 - sent])
                self.wfile.flush()
                self.close_connection = True
                return
            if blob and mode == "hold" and sent < total // 2 <= sent + len(chunk):
                self.wfile.write(chunk)
                self.wfile.flush()
                self.server.count("held")
                self.server.gate.wait(120)
                sent += len(chunk)
                continue
            self.wfile.write(chunk)
            sent += len(chunk)
            if blob and mode == "slow":
                self.wfile.flush()
                time.sleep(0.01)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _forward


@contextmanager
def relay(upstream: str) -> Iterator[Relay]:
    server = Relay(upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
