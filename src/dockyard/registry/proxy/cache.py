"""The pull-through cache: manifest and blob reads that fall through to an upstream.

:class:`ProxyCache` answers ``GET``/``HEAD`` of manifests and blobs for a registry in proxy
mode (``handlers()`` plugs it into :class:`~dockyard.registry.http.RegistryApp`) and refuses
pushes as registry:2 does (405 ``UNSUPPORTED``). What it fetches is kept in the registry's own
storage under ``<upstream name>/<repository>``, so a cache hit takes the registry's ordinary
path (the SQL record or its in-process cache, ``sendfile`` for blobs).

- A tag looked up within its upstream's ``ttl`` is answered without asking the upstream; after
  it, the upstream is asked with ``HEAD`` and the manifest fetched only when its digest changed.
  Manifests by digest and blobs are content-addressed: once cached, never asked again.
- When the upstream is down, answers 429 or a 5xx, a cached manifest is served with
  ``Warning: 110 - "Response is Stale"``; with nothing cached the client gets the upstream's
  error (429, 502, 503 with a message naming the upstream).
- Concurrent requests for one missing blob share one upstream fetch (:mod:`._fetch`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from dockyard.digest import Digest
from dockyard.errors import BlobUnknown, DockyardError, ManifestUnknown, NameUnknown
from dockyard.registry._names import is_digest, parse_digest, parse_lookup_reference
from dockyard.registry._registry import Registry
from dockyard.registry.http import _blobs, _manifests
from dockyard.registry.http._io import API_VERSION, Message, Request, send_bytes
from dockyard.registry.http._routes import Route
from dockyard.registry.metrics import MetricsRegistry
from dockyard.registry.proxy._errors import (
    STALE_OK,
    PushRefused,
    UpstreamBadGateway,
    upstream_status_error,
)
from dockyard.registry.proxy._fetch import BlobFetch
from dockyard.registry.proxy._metrics import ProxyMetrics
from dockyard.registry.proxy._store import store_manifest
from dockyard.registry.proxy._upstream import MANIFEST_ACCEPT, UpstreamClient
from dockyard.registry.proxy.config import ProxyConfig, Upstream
from dockyard.registry.storage import blob_key

__all__ = ["STALE_WARNING", "ProxyCache", "Where"]

# one line per upstream request at INFO would drown the access log
logging.getLogger("httpx").setLevel(logging.WARNING)

#: RFC 7234's warning for a response served stale.
STALE_WARNING = (b"warning", b'110 - "Response is Stale"')

Handler = Callable[..., Awaitable[None]]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Where:
    """Where a request's manifest or blob comes from, and where it is kept."""

    upstream: Upstream
    client: UpstreamClient
    #: the repository in the mirror's storage, ``<upstream name>/<name>``
    local: str
    #: the repository's name upstream
    remote: str


class ProxyCache:
    """The mirror's read path and push refusal for one registry."""

    def __init__(
        self,
        registry: Registry,
        config: ProxyConfig | None = None,
        *,
        metrics: MetricsRegistry | None = None,
        clock: Clock = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.registry = registry
        self.config = config
        self.metrics = ProxyMetrics(metrics)
        self._clock = clock
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._http_insecure: httpx.AsyncClient | None = None
        #: by upstream (an endpoint registry edited gets a client of its own)
        self._clients: dict[Upstream, UpstreamClient] = {}
        #: (local repository, tag) → when the tag's cached digest stops being trusted
        self._fresh: dict[tuple[str, str], float] = {}
        #: blob fetches running, by ``<local repository>@<digest>``
        self._fetches: dict[str, BlobFetch] = {}
        #: manifest fetches running, by (local repository, reference): one upstream GET each
        self._manifest_fetches: dict[tuple[str, str], asyncio.Future[str]] = {}
        self._tasks: set[asyncio.Future[None]] = set()

    def handlers(self) -> dict[tuple[Route, str], Handler]:
        """What replaces the registry's own handlers in proxy mode."""
        refuse = self.refuse_push
        return {
            (Route.MANIFEST, "GET"): self.get_manifest,
            (Route.MANIFEST, "HEAD"): self.get_manifest,
            (Route.MANIFEST, "PUT"): refuse,
            (Route.MANIFEST, "DELETE"): refuse,
            (Route.BLOB, "GET"): self.get_blob,
            (Route.BLOB, "HEAD"): self.get_blob,
            (Route.BLOB, "DELETE"): refuse,
            (Route.UPLOADS, "POST"): refuse,
            (Route.UPLOAD, "PATCH"): refuse,
            (Route.UPLOAD, "PUT"): refuse,
            (Route.UPLOAD, "GET"): refuse,
            (Route.UPLOAD, "DELETE"): refuse,
        }

    async def close(self) -> None:
        for http in (self._http, self._http_insecure):
            if http is not None:
                await http.aclose()
        self._http = self._http_insecure = None

    # --- routing -------------------------------------------------------------------------

    def _where(self, request: Request, name: str) -> Where:
        """Where a request of this mirror's ``proxy:`` section goes: by ``?ns=``, else by a
        first path component naming an upstream, else to the default upstream."""
        config = self.config
        assert config is not None, "a cache without a proxy section serves through where()"
        ns = request.query("ns")
        if not ns:
            upstream, remote = config.for_path(name)
            return self.where(upstream, f"{upstream.name}/{remote}", remote)
        found = config.for_namespace(ns)
        if found is None:
            known = "; ".join(
                f"{u.name}: ns={', '.join(dict.fromkeys((u.host, *u.hosts)))}"
                for u in config.upstreams
            )
            raise NameUnknown(
                f"this mirror has no upstream for ns={ns}; it mirrors {known}",
                hint="point the client's mirror configuration at a registry this mirror serves",
            )
        return self.where(found, f"{found.name}/{name}", name)

    def where(self, upstream: Upstream, local: str, remote: str) -> Where:
        """Requests for ``remote`` at ``upstream``, cached in the repository ``local``."""
        client = self._clients.get(upstream)
        if client is None:
            http = self._http_insecure if upstream.insecure else self._http
            if http is None:
                http = httpx.AsyncClient(
                    transport=self._transport,
                    timeout=httpx.Timeout(30.0, connect=10.0),
                    follow_redirects=True,
                    verify=not upstream.insecure,
                )
                if upstream.insecure:
                    self._http_insecure = http
                else:
                    self._http = http
            counter = self.metrics.upstream_requests

            def count(method: str, code: str, name: str = upstream.name) -> None:
                counter.inc(1, name, method, code)

            client = self._clients[upstream] = UpstreamClient(upstream, http, count)
        return Where(upstream, client, local, remote)

    async def _send(
        self,
        where: Where,
        method: str,
        path: str,
        *,
        accept: str | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        return await where.client.send(method, path, where.remote, accept=accept, stream=stream)

    # --- pushes --------------------------------------------------------------------------

    async def refuse_push(self, request: Request, registry: Registry, name: str, *_: object,
                          **__: object) -> None:  # fmt: skip
        raise PushRefused(
            f"{request.method} {request.path}: this registry is a pull-through cache and "
            "takes no pushes or deletes",
            hint="push to the upstream registry; the mirror fetches from it",
        )

    # --- manifests -----------------------------------------------------------------------

    async def get_manifest(
        self, request: Request, registry: Registry, name: str, reference: str
    ) -> None:
        await self.serve_manifest(request, registry, self._where(request, name), reference)

    async def serve_manifest(
        self, request: Request, registry: Registry, where: Where, reference: str
    ) -> None:
        """GET or HEAD of a manifest at ``where``: from the cache, fetched or revalidated."""
        reference = parse_lookup_reference(reference)
        stale = False
        if is_digest(reference):
            if not await self._has_manifest(request, where.local, reference):
                await self._fetch_manifest(where, reference, tag=None)
            else:
                self.metrics.hits.inc(1, "manifest", where.upstream.name)
        else:
            stale = await self._tag(request, where, reference)
        if stale:
            request.send = _with_header(request.send, STALE_WARNING)
        await _manifests.get_manifest(request, registry, where.local, reference)

    async def _has_manifest(self, request: Request, local: str, reference: str) -> bool:
        if self.registry.cached_manifest(local, reference) is not None:
            return True
        try:
            await request.run(self.registry.manifest, local, reference)
        except ManifestUnknown:
            return False
        return True

    async def _tag(self, request: Request, where: Where, tag: str) -> bool:
        """Make sure ``where.local:tag`` is current; True when it is served stale."""
        key = (where.local, tag)
        name = where.upstream.name
        if self._fresh.get(key, 0.0) > self._clock() and await self._has_manifest(
            request, where.local, tag
        ):
            self.metrics.hits.inc(1, "manifest", name)
            return False
        cached = await request.run(self.registry.meta.tag_digest, where.local, tag)
        if cached is None:
            await self._fetch_manifest(where, tag, tag=tag)
            return False
        try:
            response = await self._send(
                where, "HEAD", f"/v2/{where.remote}/manifests/{tag}", accept=MANIFEST_ACCEPT
            )
            await response.aclose()
            if response.status_code != 200:
                raise upstream_status_error(
                    response.status_code,
                    name,
                    f"manifest {where.remote}:{tag}",
                    ManifestUnknown,
                    response.headers.get("retry-after"),
                )
            current = response.headers.get("docker-content-digest")
        except STALE_OK as exc:
            reason = "ratelimited" if exc.http_status == 429 else "unavailable"
            self.metrics.stale.inc(1, "manifest", name, reason)
            return True
        if current == cached:
            self._fresh[key] = self._clock() + where.upstream.ttl
            self.metrics.hits.inc(1, "manifest", name)
            return False
        try:
            await self._fetch_manifest(where, tag, tag=tag)
        except STALE_OK as exc:
            reason = "ratelimited" if exc.http_status == 429 else "unavailable"
            self.metrics.stale.inc(1, "manifest", name, reason)
            return True
        return False

    async def _fetch_manifest(self, where: Where, reference: str, tag: str | None) -> str:
        """GET the manifest upstream and store it (one request for concurrent callers)."""
        key = (where.local, reference)
        running = self._manifest_fetches.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._manifest_fetches[key] = future
        try:
            digest = await self._get_manifest(where, reference, tag)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        else:
            future.set_result(digest)
            return digest
        finally:
            del self._manifest_fetches[key]

    async def _get_manifest(self, where: Where, reference: str, tag: str | None) -> str:
        name = where.upstream.name
        self.metrics.misses.inc(1, "manifest", name)
        response = await self._send(
            where, "GET", f"/v2/{where.remote}/manifests/{reference}", accept=MANIFEST_ACCEPT
        )
        if response.status_code != 200:
            raise upstream_status_error(
                response.status_code,
                name,
                f"manifest {where.remote}:{reference}",
                ManifestUnknown,
                response.headers.get("retry-after"),
            )
        body = response.content
        self.metrics.pulled_bytes.inc(len(body), "manifest", name)
        expected = (
            reference if is_digest(reference) else response.headers.get("docker-content-digest")
        )
        loop = asyncio.get_running_loop()
        digest = await loop.run_in_executor(
            None,
            store_manifest,
            self.registry,
            where.local,
            body,
            response.headers.get("content-type"),
            expected,
            tag,
        )
        if tag is not None:
            self._fresh[(where.local, tag)] = self._clock() + where.upstream.ttl
        return digest

    # --- blobs ---------------------------------------------------------------------------

    async def get_blob(
        self, request: Request, registry: Registry, name: str, digest_text: str
    ) -> None:
        await self.serve_blob(request, registry, self._where(request, name), digest_text)

    async def serve_blob(
        self, request: Request, registry: Registry, where: Where, digest_text: str
    ) -> None:
        """GET or HEAD of a blob at ``where``: from the cache, or one shared fetch."""
        digest = parse_digest(digest_text)
        upstream = where.upstream.name
        try:  # BLOB_UNKNOWN comes before anything is sent
            await _blobs.get_blob(request, registry, where.local, digest_text)
        except BlobUnknown:
            pass
        else:
            self.metrics.hits.inc(1, "blob", upstream)
            return
        if await self._link_stored(request, where, digest):  # another repository brought it
            self.metrics.hits.inc(1, "blob", upstream)
            await _blobs.get_blob(request, registry, where.local, digest_text)
            return
        if request.method == "HEAD":  # answered by the upstream; the bytes are not fetched
            await self._head_upstream_blob(request, where, digest)
            return
        self.metrics.misses.inc(1, "blob", upstream)
        # by repository too: a client shares only a fetch its own upstream repository answers
        key = f"{where.local}@{digest}"
        fetch = self._fetches.get(key)
        if fetch is None:
            fetch = BlobFetch(self.registry, where.client, where.local, where.remote, digest,
                              request.run)  # fmt: skip
            self._fetches[key] = fetch
            task = asyncio.ensure_future(self._run_fetch(fetch))  # outlives this request
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await fetch.started.wait()
        if isinstance(fetch.outcome, DockyardError):
            raise fetch.outcome
        if request.header("range") is not None or not fetch.attach():
            outcome = await fetch.wait()
            if isinstance(outcome, DockyardError):
                raise outcome
            await _blobs.get_blob(request, registry, fetch.repository, digest_text)
            return
        try:
            assert fetch.size is not None
            await self._follow(request, fetch, fetch.size)
        finally:
            fetch.detach()

    async def _run_fetch(self, fetch: BlobFetch) -> None:
        try:
            received = await fetch.run()
            self.metrics.pulled_bytes.inc(received, "blob", fetch.client.upstream.name)
        finally:
            self._fetches.pop(f"{fetch.repository}@{fetch.digest}", None)

    async def _follow(self, request: Request, fetch: BlobFetch, size: int) -> None:
        digest = str(fetch.digest).encode()
        await request.send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    API_VERSION,
                    (b"docker-content-digest", digest),
                    (b"etag", b'"' + digest + b'"'),
                    (b"content-type", b"application/octet-stream"),
                    (b"content-length", str(size).encode()),
                ],
            }
        )

        async def send_chunk(data: bytes, more: bool) -> None:
            await request.send({"type": "http.response.body", "body": data, "more_body": more})

        await fetch.follow(send_chunk)

    async def _link_stored(self, request: Request, where: Where, digest: Digest) -> bool:
        """Link a blob the mirror holds for another repository into ``where.local``, once the
        upstream confirms that repository has it (a HEAD; no bytes move)."""
        if await request.run(self.registry.storage.stat, blob_key(digest)) is None:
            return False
        try:
            response = await self._send(where, "HEAD", f"/v2/{where.remote}/blobs/{digest}")
        except STALE_OK:
            return False
        await response.aclose()
        length = response.headers.get("content-length", "")
        if response.status_code != 200 or not length.isdigit():
            return False
        await request.run(self.registry.meta.add_blob, where.local, str(digest), int(length))
        return True

    async def _head_upstream_blob(self, request: Request, where: Where, digest: Digest) -> None:
        response = await self._send(where, "HEAD", f"/v2/{where.remote}/blobs/{digest}")
        await response.aclose()
        if response.status_code != 200:
            raise upstream_status_error(
                response.status_code,
                where.upstream.name,
                f"blob {digest} of {where.remote}",
                BlobUnknown,
                response.headers.get("retry-after"),
            )
        length = response.headers.get("content-length", "")
        if not length.isdigit():
            raise UpstreamBadGateway(
                f"upstream {where.upstream.name} sent no Content-Length for blob {digest}"
            )
        await send_bytes(
            request.send,
            200,
            b"",
            [(b"docker-content-digest", str(digest).encode())],
            content_type=b"application/octet-stream",
            head=True,
            length=int(length),
        )


def _with_header(
    send: Callable[[Message], Awaitable[None]], header: tuple[bytes, bytes]
) -> Callable[[Message], Awaitable[None]]:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = dict(message)
            message["headers"] = [*message["headers"], header]
        await send(message)

    return wrapped
