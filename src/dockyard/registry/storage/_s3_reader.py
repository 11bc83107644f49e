"""S3ObjectReader: a streaming GET's body as a blocking file, read ahead on the driver's loop.

The body is pulled on the S3 client's loop thread (:mod:`._s3_client`) by one task that keeps
reading while the caller is busy elsewhere (sending the previous chunk to an HTTP client), so
the store's connection never idles between the caller's reads. What it holds is bounded: the
window starts at ``READ_AHEAD_MIN`` and doubles, up to ``READ_AHEAD``, each time the caller
has consumed as much as the window holds. A short ranged read pulls little beyond what it
asked; a whole-blob stream soon has the full window in flight. When the window is full the
task waits (and the store's TCP connection with it) until the caller has taken some.

The caller's ``readinto`` takes from what is buffered under a lock, without a trip to the
loop; it blocks only when nothing is buffered yet. An error of the store (a connection cut
mid-body) reaches the caller after the bytes that arrived before it, as a dockyard category
(:meth:`S3Client.translate` through :meth:`S3Client.submit`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import threading
from collections import deque
from typing import Any

from dockyard.registry.storage._s3_client import S3Client

__all__ = ["READ_AHEAD", "READ_AHEAD_MIN", "S3ObjectReader"]

#: the most bytes of one body buffered ahead of its reader
READ_AHEAD = 16 << 20
#: the first window (a ranged read of a few bytes pulls at most about this much)
READ_AHEAD_MIN = 1 << 20
#: bytes asked of the body per read on the loop (it answers with what has arrived, up to this)
_PIECE = 1 << 20


class _Window:
    """The bytes read ahead, shared by the loop's task (producer) and the caller (consumer)."""

    def __init__(self, limit: int, largest: int) -> None:
        self.cond = threading.Condition()
        self.pieces: deque[memoryview] = deque()
        self.buffered = 0
        self.consumed = 0
        self.limit = limit
        self.largest = largest
        self.ended = False  # the body's end, or an error (then ``error``), or closed
        self.error: BaseException | None = None
        self.closed = False
        # the producer's wake-up, on its loop: set while it waits for room
        self.loop: asyncio.AbstractEventLoop | None = None
        self.room: asyncio.Event | None = None
        self.waiting = False

    def take(self, view: memoryview) -> int:
        """Up to ``len(view)`` bytes into ``view``; blocks until some are there or the end."""
        with self.cond:
            while not self.pieces and not self.ended:
                self.cond.wait()
            filled = 0
            while self.pieces and filled < len(view):
                piece = self.pieces[0]
                n = min(len(piece), len(view) - filled)
                view[filled : filled + n] = piece[:n]
                if n == len(piece):
                    self.pieces.popleft()
                else:
                    self.pieces[0] = piece[n:]
                filled += n
            if not filled and self.error is not None:
                raise self.error
            self.buffered -= filled
            self.consumed += filled
            if self.consumed >= self.limit and self.limit < self.largest:
                self.limit = min(self.largest, self.limit * 2)  # a stream, not a peek
            wake = self.waiting and self.buffered < self.limit
            if wake:
                self.waiting = False
        if wake and self.loop is not None and self.room is not None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nothing to wake
                self.loop.call_soon_threadsafe(self.room.set)
        return filled

    def finish(self, future: concurrent.futures.Future[None]) -> None:
        """The producer stopped: at the body's end, on an error, or cancelled by ``close``."""
        error = None if future.cancelled() else future.exception()
        with self.cond:
            self.ended = True
            if error is not None and not self.closed:
                self.error = error
            self.cond.notify_all()


async def _pump(window: _Window, body: Any) -> None:
    """Read ``body`` into ``window`` until its end, waiting whenever the window is full."""
    window.loop = asyncio.get_running_loop()
    window.room = asyncio.Event()
    while True:
        with window.cond:
            if window.closed:
                return
            full = window.buffered >= window.limit
            if full:
                window.room.clear()
                window.waiting = True
        if full:
            await window.room.wait()
            continue
        data: bytes = await body.read(_PIECE)
        if not data:
            return
        with window.cond:
            window.pieces.append(memoryview(data))
            window.buffered += len(data)
            window.cond.notify_all()


class S3ObjectReader(io.RawIOBase):
    """A streaming GET's body (None: an empty read past the end), read ahead; close it."""

    def __init__(
        self,
        client: S3Client,
        body: Any,
        *,
        read_ahead: int = READ_AHEAD,
        first_window: int = READ_AHEAD_MIN,
    ) -> None:
        self._client = client
        self._body = body
        self._window = _Window(min(first_window, read_ahead), read_ahead)
        self._producer: concurrent.futures.Future[None] | None = None
        if body is None:
            self._window.ended = True
        else:
            window = self._window
            self._producer = client.submit(lambda _c: _pump(window, body))
            self._producer.add_done_callback(window.finish)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if not len(view):
            return 0
        return self._window.take(view)

    def close(self) -> None:
        if self.closed:
            return
        window, producer = self._window, self._producer
        with window.cond:
            window.closed = True
            window.pieces.clear()
            window.buffered = 0
        body, self._body = self._body, None
        if producer is not None:
            producer.cancel()
        if body is not None:

            async def release(_client: Any) -> None:
                body.close()

            with contextlib.suppress(Exception):
                self._client.run(release)
        super().close()
