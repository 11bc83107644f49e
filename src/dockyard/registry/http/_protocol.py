"""uvicorn's httptools protocol, with the writes of one event-loop step sent in one system
call (a small response's headers and body leave together instead of in two ``send`` calls).

Pass :class:`RegistryHttpProtocol` as uvicorn's ``http`` setting.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http import httptools_impl

__all__ = ["RegistryHttpProtocol"]

#: Writes this large skip the coalescing buffer.
_COALESCE_LIMIT = 64 << 10


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


class RegistryHttpProtocol(httptools_impl.HttpToolsProtocol):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
