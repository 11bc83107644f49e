"""RegistryApp: a lean ASGI application serving the OCI distribution API.

No framework: one dispatch on the path shape and the method, handlers that write ASGI
messages directly, blocking work in a thread pool, cached hot reads on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from dockyard.errors import DockyardError, NotFound, Unavailable
from dockyard.registry._authorize import Authorizer, needed_scopes
from dockyard.registry._push_guard import PushGuard
from dockyard.registry._registry import Registry
from dockyard.registry.auth import Authenticator
from dockyard.registry.http import _blobs, _listings, _manifests, _pages, _uploads
from dockyard.registry.http._io import (
    ClientGone,
    Message,
    MethodNotAllowed,
    Receive,
    Request,
    Scope,
    Send,
    send_bytes,
    send_error,
)
from dockyard.registry.http._routes import Route, Target, match
from dockyard.registry.limits import Limits

__all__ = ["ExtensionHandler", "RegistryApp", "ResponseObserver"]

log = logging.getLogger("dockyard.registry")

Handler = Callable[..., Awaitable[None]]

#: Seconds between checks for changes other processes made to the database.
CACHE_SYNC_INTERVAL = 1.0

_HANDLERS: dict[tuple[Route, str], Handler] = {
    (Route.MANIFEST, "GET"): _manifests.get_manifest,
    (Route.MANIFEST, "HEAD"): _manifests.get_manifest,
    (Route.MANIFEST, "PUT"): _manifests.put_manifest,
    (Route.MANIFEST, "DELETE"): _manifests.delete_manifest,
    (Route.BLOB, "GET"): _blobs.get_blob,
    (Route.BLOB, "HEAD"): _blobs.get_blob,
    (Route.BLOB, "DELETE"): _blobs.delete_blob,
    (Route.UPLOADS, "POST"): _uploads.start_upload,
    (Route.UPLOAD, "PATCH"): _uploads.patch_upload,
    (Route.UPLOAD, "PUT"): _uploads.finish_upload,
    (Route.UPLOAD, "GET"): _uploads.upload_status,
    (Route.UPLOAD, "DELETE"): _uploads.cancel_upload,
    (Route.TAGS, "GET"): _listings.tags_list,
    (Route.TAGS, "HEAD"): _listings.tags_list,
    (Route.REFERRERS, "GET"): _listings.referrers,
}


#: Serves /v2/<name>/_<ext>/<rest>: called as (request, registry, name, rest).
ExtensionHandler = Callable[[Request, Registry, str, str], Awaitable[None]]

#: Called after every response: (request, route name, status, seconds, body bytes sent).
ResponseObserver = Callable[[Request, str, int, float, int], None]


class UnknownEndpoint(NotFound):
    oci_code = "UNSUPPORTED"


class _Tracker:
    """Wraps ``send`` to learn the status and the bytes sent."""

    __slots__ = ("send", "sent", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 0
        self.sent = 0

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            self.sent += len(message.get("body", b""))
        elif kind == "http.response.start":
            self.status = message["status"]
        else:  # http.response.zerocopysend
            self.sent += message["count"]
        await self.send(message)


class RegistryApp:
    """The ASGI callable. ``authenticator`` guards /v2/; ``observers`` see every response."""

    def __init__(
        self,
        registry: Registry,
        *,
        authenticator: Authenticator | None = None,
        authorizer: Authorizer | None = None,
        observers: list[ResponseObserver] | None = None,
        threads: int = 32,
        extra_routes: dict[str, Handler] | None = None,
        extensions: dict[str, ExtensionHandler] | None = None,
        prefix_routes: dict[str, Handler] | None = None,
        on_shutdown: list[Callable[[], None]] | None = None,
        limits: Limits | None = None,
        push_guard: PushGuard | None = None,
        console: Handler | None = None,
        handlers: dict[tuple[Route, str], Handler] | None = None,
    ) -> None:
        self.registry = registry
        #: the /v2/ resource handlers, by route and method (``handlers`` replaces some, e.g.
        #: a pull-through cache's reads)
        self._handlers = {**_HANDLERS, **handlers} if handlers else _HANDLERS
        #: the web console: answers ``/`` and every page path no other handler takes
        self.console = console
        self.authenticator = authenticator
        #: checks each /v2/ request's bearer token against the scopes its route needs
        self.authorizer = authorizer
        #: an authorizer that may block (a password check) offers ``authorize_async``
        self._authorize_async: Callable[..., Awaitable[None]] | None = getattr(
            authorizer, "authorize_async", None
        )
        if push_guard is not None:  # asked around manifest PUTs, upload finishes and deletes
            registry.guard = push_guard
        self.observers = list(observers or [])
        #: called with each /v2/ request's route once it matched one (before its handler runs)
        self.on_route: list[Callable[[str], None]] = []
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="registry")
        self.extra_routes = dict(extra_routes or {})
        self.extensions = dict(extensions or {})
        #: handlers of whole path trees outside /v2/, by prefix (e.g. "/api/v2.0/")
        self.prefix_routes = dict(prefix_routes or {})
        #: called (blocking) when the server shuts down
        self.on_shutdown = list(on_shutdown or [])
        #: the size limits handlers apply to request bodies (``limits:`` in the config)
        self.limits = limits or Limits()
        self._sync_task: asyncio.Future[None] | None = None

    @property
    def push_guard(self) -> PushGuard | None:
        """The registry's guard chain (``Registry.guard``)."""
        return self.registry.guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._sync_task = asyncio.ensure_future(self._sync_cache())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._sync_task is not None:
                    self._sync_task.cancel()
                self.executor.shutdown(wait=False, cancel_futures=True)
                for stop in self.on_shutdown:
                    try:
                        stop()
                    except Exception:
                        log.exception("shutdown hook failed")
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _sync_cache(self) -> None:
        """Notice database changes other processes made (garbage collection), once a second."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(CACHE_SYNC_INTERVAL)
            try:
                await loop.run_in_executor(self.executor, self.registry.sync_cache)
            except Unavailable:
                pass  # an outage: logged once by the service that is down
            except Exception:
                log.exception("cannot check the database for changes")

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        began = time.perf_counter()
        tracker = _Tracker(send)
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if raw else scope["path"]
        path = path.split("?", 1)[0]
        request = Request(scope, receive, tracker, path, self.executor, self.limits)
        route = "other"
        try:
            route = await self._dispatch(request, path)
        except ClientGone:
            route = route or "other"
        except DockyardError as exc:
            if tracker.status == 0:
                await send_error(tracker, exc, head=request.method == "HEAD")
            else:
                log.warning("%s %s failed after the response began: %s", request.method, path, exc)
        except Exception:
            log.exception("%s %s failed", request.method, path)
            if tracker.status == 0:
                await send_bytes(
                    tracker,
                    500,
                    b'{"errors":[{"code":"UNKNOWN","message":"internal error; see the server log"}]}',
                    content_type=b"application/json",
                )
        route = request.route or route  # a /v2/ handler's error still counts for its route
        if self.observers:
            took = time.perf_counter() - began
            for observe in self.observers:
                try:
                    observe(request, route, tracker.status, took, tracker.sent)
                except Exception:
                    log.exception("response observer failed")

    async def _dispatch(self, request: Request, path: str) -> str:
        if not path.startswith("/v2"):
            return await self._page(request, path)
        if len(path) > 3 and path[3] != "/":
            raise NotFound(f"no such endpoint {path}")
        if self.authenticator is not None:
            await self._authenticate(request)
        target = match(path)
        if target is None:
            raise UnknownEndpoint(
                f"no such endpoint {path}; see the OCI distribution spec for the API"
            )
        request.route = route = target.route.value
        for hook in self.on_route:
            hook(route)
        if self._authorize_async is not None:
            await self._authorize_async(request, needed_scopes(target, request.method))
        elif self.authorizer is not None:
            self.authorizer.authorize(request, needed_scopes(target, request.method))
        await self._api(request, target)
        return route

    async def _authenticate(self, request: Request) -> None:
        assert self.authenticator is not None
        authorization = request.header("authorization")
        user = self.authenticator.authenticate_cached(authorization)
        if user is None:
            user = await request.run(self.authenticator.authenticate, authorization)
        request.user = user

    async def _api(self, request: Request, target: Target) -> None:
        route, method = target.route, request.method
        if route is Route.BASE:
            if method not in ("GET", "HEAD"):
                raise MethodNotAllowed(f"{method} is not allowed on /v2/", allow=("GET", "HEAD"))
            await send_bytes(
                request.send, 200, b"{}", content_type=b"application/json", head=method == "HEAD"
            )
            return
        if route is Route.CATALOG:
            if method not in ("GET", "HEAD"):
                raise MethodNotAllowed(
                    f"{method} is not allowed on /v2/_catalog", allow=("GET", "HEAD")
                )
            await _listings.catalog(request, self.registry)
            return
        if route is Route.EXTENSION:
            ext, _, rest = target.arg.partition("/")
            extension = self.extensions.get(ext)
            if extension is None:
                raise UnknownEndpoint(f"no such extension _{ext} on this registry")
            await extension(request, self.registry, target.name, rest)
            return
        handler = self._handlers.get((route, method))
        if handler is None:
            allow = tuple(m for (r, m) in self._handlers if r is route)
            raise MethodNotAllowed(f"{method} is not allowed on {request.path}", allow=allow)
        if route is Route.UPLOADS or route is Route.TAGS:
            await handler(request, self.registry, target.name)
        elif (guard := self.registry.guard) is not None and (
            (route is Route.MANIFEST and method in ("PUT", "DELETE"))
            or (route is Route.UPLOAD and method == "PUT")
        ):
            await handler(request, self.registry, target.name, target.arg, guard=guard)
        else:
            await handler(request, self.registry, target.name, target.arg)

    async def _page(self, request: Request, path: str) -> str:
        if self.console is not None and path in ("/", "/index.html"):
            await self.console(request, self.registry)
            return "console"
        if path in ("/", "/index.html"):
            await _pages.home(request, self.registry)
            return "home"
        if path == "/healthz":
            await _pages.healthz(request, self.registry)
            return "healthz"
        extra = self.extra_routes.get(path)
        if extra is not None:
            await extra(request, self.registry)
            return path.strip("/")
        for prefix, handler in self.prefix_routes.items():
            if path.startswith(prefix):
                await handler(request, self.registry)
                return prefix.strip("/")
        if self.console is not None:
            await self.console(request, self.registry)
            return "console"
        raise NotFound(f"no such page {path}; the registry API is under /v2/")
