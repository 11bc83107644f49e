"""Raw ASGI plumbing: the request view, response senders, body readers, the error table."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypeVar
from urllib.parse import parse_qs

from dockyard.errors import DockyardError, InvalidArgument, SizeInvalid
from dockyard.registry.limits import Limits

if TYPE_CHECKING:
    from dockyard.registry._authorize import AccessSet

__all__ = [
    "API_VERSION",
    "ClientGone",
    "Receive",
    "Request",
    "Scope",
    "Send",
    "error_body",
    "read_body",
    "send_bytes",
    "send_error",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

P = ParamSpec("P")
T = TypeVar("T")

API_VERSION = (b"docker-distribution-api-version", b"registry/2.0")


class ClientGone(Exception):
    """The client closed the connection before sending the whole body."""


class Request:
    """What handlers need from an ASGI scope, decoded lazily."""

    __slots__ = (
        "_headers",
        "_next",
        "_query",
        "access",
        "executor",
        "limits",
        "method",
        "path",
        "receive",
        "received",
        "route",
        "scope",
        "send",
        "user",
    )

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        path: str,
        executor: Executor,
        limits: Limits = Limits(),  # noqa: B008  # frozen: one shared default is safe
    ) -> None:
        self.scope = scope
        self.receive = self._receive
        self._next = receive
        self.send = send
        self.method: str = scope["method"]
        self.path = path
        self.executor = executor
        #: the body size limits in force
        self.limits = limits
        self.user: str | None = None
        #: what the caller's bearer token grants (None: no token auth, see registry._authorize)
        self.access: AccessSet | None = None
        #: request body bytes received so far
        self.received = 0
        #: the /v2/ route this request matched ("" until it matched one)
        self.route = ""
        self._headers: dict[str, str] | None = None
        self._query: dict[str, list[str]] | None = None

    async def _receive(self) -> Message:
        message = await self._next()
        body = message.get("body")
        if body:
            self.received += len(body)
        return message

    @property
    def headers(self) -> dict[str, str]:
        if self._headers is None:
            self._headers = {
                k.decode("latin-1"): v.decode("latin-1") for k, v in self.scope["headers"]
            }
        return self._headers

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def query(self, name: str) -> str | None:
        if self._query is None:
            raw = self.scope.get("query_string", b"").decode("latin-1")
            self._query = parse_qs(raw, keep_blank_values=True)
        values = self._query.get(name)
        return values[-1] if values else None

    def content_length(self) -> int | None:
        text = self.header("content-length")
        if text is None:
            return None
        if not text.isdigit():
            raise SizeInvalid(f"invalid Content-Length {text!r}: it must be a number of bytes")
        return int(text)

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run blocking ``fn`` in the registry's worker threads."""
        loop = asyncio.get_running_loop()
        if kwargs:
            return await loop.run_in_executor(self.executor, lambda: fn(*args, **kwargs))
        return await loop.run_in_executor(self.executor, fn, *args)


async def send_bytes(
    send: Send,
    status: int,
    body: bytes = b"",
    headers: Iterable[tuple[bytes, bytes]] = (),
    *,
    content_type: bytes | None = None,
    head: bool = False,
    length: int | None = None,
) -> None:
    """One complete response; ``head`` sends the headers only (Content-Length still says
    how long the body would be)."""
    out: Headers = [API_VERSION, *headers]
    out.append((b"content-length", str(len(body) if length is None else length).encode()))
    if content_type is not None:
        out.append((b"content-type", content_type))
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": b"" if head else body})


def error_body(exc: DockyardError) -> bytes:
    entry: dict[str, Any] = {"code": exc.oci_code, "message": str(exc)}
    if exc.detail is not None:
        entry["detail"] = exc.detail
    return json.dumps({"errors": [entry]}).encode()


async def send_error(send: Send, exc: DockyardError, *, head: bool = False) -> None:
    headers: Headers = []
    extra = getattr(exc, "headers", None)
    if isinstance(extra, dict):
        headers.extend(
            (k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in extra.items()
        )
    await send_bytes(
        send,
        exc.http_status,
        error_body(exc),
        headers,
        content_type=b"application/json; charset=utf-8",
        head=head,
    )


async def read_body(request: Request, limit: int, what: str, key: str) -> bytes:
    """The whole request body, refusing more than ``limit`` bytes (413, the connection closed
    after it): a larger Content-Length before reading anything, a chunked body as soon as it
    passes the limit. ``key`` is the config key that sets the limit, for the message."""
    declared = request.content_length()
    if declared is not None and declared > limit:
        raise PayloadTooLarge(
            f"{what} of {declared} bytes is larger than the {limit} bytes allowed",
            hint=f"send a smaller {what}, or raise the limit with the config key {key}",
        )
    chunks: list[bytes] = []
    total = 0
    more = True
    while more:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(
                f"{what} is larger than the {limit} bytes allowed",
                hint=f"send a smaller {what}, or raise the limit with the config key {key}",
            )
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


class PayloadTooLarge(SizeInvalid):
    """A request body over its limit. The answer closes the connection, so the rest of the
    body is never read (keeping it alive would mean reading it all to find the next request)."""

    http_status = 413
    headers: ClassVar[dict[str, str]] = {"Connection": "close"}


class MethodNotAllowed(InvalidArgument):
    """405, with the ``Allow`` header RFC 9110 requires when ``allow`` names the methods."""

    http_status = 405
    oci_code = "UNSUPPORTED"

    def __init__(self, message: str, *, allow: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.headers = {"Allow": ", ".join(allow)} if allow else None
