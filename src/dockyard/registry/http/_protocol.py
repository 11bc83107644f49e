"""uvicorn's httptools protocol with two additions for the registry's hot paths:

- the writes of one event-loop step go out in one system call (a small response's headers and
  body leave together instead of in two ``send`` calls);
- ASGI's zero-copy send extension (``http.response.zerocopysend``: a file, an offset and a
  count), done with ``os.sendfile`` in a thread, so blob bodies go from the page cache to
  the socket without passing through Python; when the "file" is a socket (an object store's
  connection whose next bytes are the body), with ``os.splice`` through a pipe instead.

It also bounds what a client may make the server hold before a handler runs (see
:mod:`dockyard.registry.limits`): the request line (414), the headers' size and count (431),
the time to send them (408), idle kept-alive connections and open connections (503). Bytes
are counted as they arrive, before the parser keeps them, so an endless header line costs
one read, not memory; a refused connection is answered, read no further and closed.

Pass ``protocol_class(limits)`` as uvicorn's ``http`` setting.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import select
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http import httptools_impl

from dockyard.registry.http import _framing
from dockyard.registry.http._framing import HeadClock, HeadRefusal
from dockyard.registry.limits import Limits

__all__ = ["ZEROCOPY_SEND", "RegistryHttpProtocol", "protocol_class"]

ZEROCOPY_SEND = "http.response.zerocopysend"
#: Writes this large skip the coalescing buffer.
_COALESCE_LIMIT = 64 << 10
#: A zero-copy send gives up when the client takes nothing for this long (seconds).
STALL_TIMEOUT = 60.0
#: After refusing a request head, the server waits this long (reading nothing) for the client
#: to take the answer before it closes (closing at once may reset the connection and lose it).
REFUSAL_LINGER = 0.5

#: the pipe a splice goes through (Linux's default is 64 KiB; 1 MiB is the unprivileged limit)
_PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)

_senders: ThreadPoolExecutor | None = None


class ClientStalled(OSError):
    """The client stopped reading a response body."""


class _CoalescingTransport:
    """Wraps a transport so that writes made in one event-loop step leave in one call."""

    __slots__ = ("_loop", "_pending", "_size", "transport")

    def __init__(self, transport: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None
        self._size = 0

    def write(self, data: bytes) -> None:
        if self._pending is None:
            if len(data) >= _COALESCE_LIMIT:
                self.transport.write(data)
                return
            self._pending = [data]
            self._size = len(data)
            self._loop.call_soon(self.flush)
            return
        self._pending.append(data)
        self._size += len(data)
        if self._size >= _COALESCE_LIMIT:
            self.flush()

    def flush(self) -> None:
        pending = self._pending
        if pending is None:
            return
        self._pending = None
        if not self.transport.is_closing():
            self.transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class _Cycle(httptools_impl.RequestResponseCycle):
    """A request/response cycle that also takes ``http.response.zerocopysend`` messages."""

    async def send(self, message: Any) -> None:
        if message["type"] != ZEROCOPY_SEND:
            await super().send(message)
            return
        if not self.response_started or self.response_complete or self.chunked_encoding:
            raise RuntimeError("a zero-copy send needs a started response with a Content-Length")
        count = int(message["count"])
        if count > self.expected_content_length:
            raise RuntimeError("Response content longer than Content-Length")
        if count and not self.disconnected and self.scope["method"] != "HEAD":
            await self._sendfile(message["file"].fileno(), int(message.get("offset", 0)), count)
        self.expected_content_length -= count
        more = bool(message.get("more_body", False))
        await super().send({"type": "http.response.body", "body": b"", "more_body": more})

    async def _sendfile(self, file_fd: int, offset: int, count: int) -> None:
        transport = self.transport
        if isinstance(transport, _CoalescingTransport):
            transport.flush()
        delay = 0.0005
        while transport.get_write_buffer_size():  # the headers must leave first
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
            if transport.is_closing():
                raise ConnectionResetError("the client closed the connection")
        sock = transport.get_extra_info("socket")
        # a duplicate keeps this connection's socket open (the loop may close its own
        # descriptor if the client goes away; its number must not be reused under us)
        sock_fd = os.dup(sock.fileno())
        try:
            global _senders
            if _senders is None:
                _senders = ThreadPoolExecutor(max_workers=64, thread_name_prefix="sendfile")
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(_senders, _sendfile_all, sock_fd, file_fd, offset, count)
        finally:
            os.close(sock_fd)


def _sendfile_all(sock_fd: int, file_fd: int, offset: int, count: int) -> None:
    """All ``count`` bytes at ``offset`` onto a non-blocking socket, waiting when it is full.
    A socket as the source: its next ``count`` bytes (``offset`` does not apply)."""
    if stat.S_ISSOCK(os.fstat(file_fd).st_mode):
        _splice_all(sock_fd, file_fd, count)
        return
    poller = select.poll()
    poller.register(sock_fd, select.POLLOUT)
    last_progress = time.monotonic()
    while count > 0:
        try:
            sent = os.sendfile(sock_fd, file_fd, offset, count)
        except BlockingIOError:
            sent = None
        if sent == 0:
            raise OSError(f"the file ended {count} bytes before the response did")
        if sent:
            offset += sent
            count -= sent
            last_progress = time.monotonic()
            continue
        if not poller.poll(1000) and time.monotonic() - last_progress > STALL_TIMEOUT:
            raise ClientStalled(f"the client read nothing for {STALL_TIMEOUT:.0f} s")


def _splice_all(sock_fd: int, source_fd: int, count: int) -> None:
    """The next ``count`` bytes of the socket ``source_fd`` onto the non-blocking socket
    ``sock_fd``, through a pipe, without copying them into this process."""
    read_end, write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        with contextlib.suppress(OSError):  # a bigger pipe: fewer calls; 64 KiB works too
            fcntl.fcntl(write_end, _F_SETPIPE_SZ, _PIPE_SIZE)
        capacity = fcntl.fcntl(write_end, _F_GETPIPE_SZ)
        os.set_blocking(source_fd, False)
        flags = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
        poller = select.poll()
        piped = 0  # bytes in the pipe, not yet sent
        last_in = last_out = time.monotonic()
        while count or piped:
            moved = False
            if count and piped < capacity:
                try:
                    n = os.splice(source_fd, write_end, min(count, capacity - piped), flags=flags)
                except BlockingIOError:
                    n = -1
                if n == 0:
                    raise OSError(f"the store's connection ended {count} bytes before the body")
                if n > 0:
                    count -= n
                    piped += n
                    last_in, moved = time.monotonic(), True
            if piped:
                try:
                    n = os.splice(read_end, sock_fd, piped, flags=flags)
                except BlockingIOError:
                    n = -1
                if n > 0:
                    piped -= n
                    last_out, moved = time.monotonic(), True
            if moved:
                continue
            now = time.monotonic()
            if piped and now - last_out > STALL_TIMEOUT:
                raise ClientStalled(f"the client read nothing for {STALL_TIMEOUT:.0f} s")
            if count and now - last_in > STALL_TIMEOUT:
                raise OSError(f"the store sent nothing for {STALL_TIMEOUT:.0f} s")
            for fd in (source_fd, sock_fd):
                with contextlib.suppress(KeyError):
                    poller.unregister(fd)
            if count and piped < capacity:
                poller.register(source_fd, select.POLLIN)
            if piped:
                poller.register(sock_fd, select.POLLOUT)
            poller.poll(1000)
    finally:
        os.close(read_end)
        os.close(write_end)


class RegistryHttpProtocol(httptools_impl.HttpToolsProtocol):
    """uvicorn's protocol with coalesced writes, zero-copy sends and bounded request heads.

    A head is "open" from when the server waits for it (a new connection; the first bytes
    after an idle keep-alive; a pipelined request starting within a read) until its headers
    are complete; ``head_since`` says since when (None: no head open). While one is open
    every byte read counts against the limits; once complete, the fast path costs a few
    comparisons."""

    limits: ClassVar[Limits] = Limits()
    clock: ClassVar[HeadClock] = HeadClock(Limits().header_timeout)
    #: the bytes of an open head past which it is certainly too large
    _head_limit: ClassVar[int] = Limits().request_line_bytes + Limits().header_bytes + 4

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = self.limits
        self.timeout_keep_alive = limits.keepalive_timeout  # type: ignore[assignment]
        self.limit_concurrency = limits.max_connections + 1  # uvicorn counts this one too
        self.url = b""
        self.head_since: float | None = None
        self._head_bytes = 0
        #: False when the head began inside a read counted as something else
        self._head_counted = True
        self._refused = False
        self._pending_refusal: bytes | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
        clock = self.clock
        clock.start(self.loop, self.connections)
        self.head_since = clock.now

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self.head_since is not None:
            self._head_bytes += len(data)
        elif self.timeout_keep_alive_task is not None:  # idle: these bytes begin a request
            self.head_since = self.clock.now
            self._head_bytes = len(data)
            self._head_counted = True
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._refused:  # a callback refused the request and answered it
                return
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self.head_since is not None and (
            len(self.url) > self.limits.request_line_bytes or self._head_bytes > self._head_limit
        ):
            self._refuse_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.head_since is None:  # pipelined: it began inside a read of the previous one
            self.head_since = self.clock.now
            self._head_bytes = 0
            self._head_counted = False

    def on_header(self, name: bytes, value: bytes) -> None:
        # uvicorn's, with the count checked as each header arrives (a read of tiny header
        # lines would otherwise make thousands of them at once)
        headers = self.headers
        if len(headers) >= self.limits.header_count:
            self._refuse_head(too_many=True)
            raise HeadRefusal()
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        headers.append((name, value))

    def on_headers_complete(self) -> None:
        limits = self.limits
        if len(self.url) > limits.request_line_bytes or (
            (self._head_bytes > limits.header_bytes or not self._head_counted) and self._large()
        ):
            self._refuse_head()
            raise HeadRefusal()  # stops the parser: nothing after this head is read
        self.head_since = None
        self._head_bytes = 0
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope and type(cycle) is not _Cycle:
            cycle.__class__ = _Cycle
            if self.scheme == "http":  # over TLS the bytes must go through the TLS layer
                extensions = self.scope.setdefault("extensions", {})
                extensions[ZEROCOPY_SEND] = {}

    def _large(self) -> bool:
        """Whether the headers, as parsed, exceed ``limits.header_bytes``."""
        size = sum(len(name) + len(value) for name, value in self.headers)
        return size + 4 * len(self.headers) > self.limits.header_bytes

    def _refuse_head(self, *, too_many: bool = False) -> None:
        limits = self.limits
        if len(self.url) > limits.request_line_bytes:
            answer = _framing.request_line_too_long(limits)
        elif too_many or len(self.headers) > limits.header_count:
            answer = _framing.too_many_headers(limits)
        else:
            answer = _framing.headers_too_large(limits)
        self._refuse(answer)

    def head_timed_out(self) -> None:
        """Called by the clock's sweep when this connection's head is late."""
        if not self._refused:
            self._refuse(_framing.head_timed_out(self.limits))

    def _refuse(self, answer: bytes) -> None:
        """Answer ``answer`` and close, reading nothing more; after the responses of the
        requests before this one, if they are still under way."""
        self._refused = True
        self.head_since = None
        self.flow.pause_reading()
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            self._pending_refusal = answer
            return
        self._send_refusal(answer)

    def _send_refusal(self, answer: bytes) -> None:
        self._pending_refusal = None
        self._unset_keepalive_if_required()
        self.flow.pause_reading()  # again: a response that completed meanwhile resumed it
        transport = self.transport
        if transport.is_closing():
            return
        transport.write(answer)
        inner = transport
        if isinstance(transport, _CoalescingTransport):
            transport.flush()
            inner = transport.transport
        if inner.can_write_eof():
            inner.write_eof()
            self.loop.call_later(REFUSAL_LINGER, inner.close)
        else:
            inner.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._pending_refusal is not None and self.cycle.response_complete:
            self._send_refusal(self._pending_refusal)


def protocol_class(limits: Limits) -> type[RegistryHttpProtocol]:
    """:class:`RegistryHttpProtocol` for one server, holding ``limits``."""
    head_limit = limits.request_line_bytes + limits.header_bytes + 4
    return type(
        "RegistryHttpProtocol",
        (RegistryHttpProtocol,),
        {
            "limits": limits,
            "clock": HeadClock(limits.header_timeout),
            "_head_limit": head_limit,
            "__module__": __name__,
        },
    )
