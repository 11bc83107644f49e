"""uvicorn's httptools protocol with two additions for the registry's hot paths:

- the writes of one event-loop step go out in one system call (a small response's headers and
  body leave together instead of in two ``send`` calls);
- ASGI's zero-copy send extension (``http.response.zerocopysend``: a file, an offset and a
  count), done with ``os.sendfile`` in a thread, so blob bodies go from the page cache to
  the socket without passing through Python.

Pass :class:`RegistryHttpProtocol` as uvicorn's ``http`` setting.
"""

from __future__ import annotations

import asyncio
import os
import select
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from uvicorn.protocols.http import httptools_impl

__all__ = ["ZEROCOPY_SEND", "RegistryHttpProtocol"]

ZEROCOPY_SEND = "http.response.zerocopysend"
#: Writes this large skip the coalescing buffer.
_COALESCE_LIMIT = 64 << 10
#: A zero-copy send gives up when the client takes nothing for this long (seconds).
STALL_TIMEOUT = 60.0

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
    """All ``count`` bytes at ``offset`` onto a non-blocking socket, waiting when it is full."""
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


class RegistryHttpProtocol(httptools_impl.HttpToolsProtocol):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope and type(cycle) is not _Cycle:
            cycle.__class__ = _Cycle
            if self.scheme == "http":  # over TLS the bytes must go through the TLS layer
                extensions = self.scope.setdefault("extensions", {})
                extensions[ZEROCOPY_SEND] = {}
