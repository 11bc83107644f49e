"""S3Writer: appending to an S3 object that any registry process can continue.

An object cannot be appended to, so a writer holds three things: the object as it is in the
store (``base`` bytes, the last committed state), a multipart upload started once there is
more than ``chunksize`` to send (the object's head carried into it by server-side part
copies, or read back when smaller than S3's 5 MiB part minimum), and a buffer of at most
``chunksize`` bytes not yet sent. ``commit()`` completes the upload, which replaces the object
atomically; so between requests (each PATCH of a chunked push opens, commits and closes a
writer) the whole state is the object itself and the next request may land on any replica.
Memory is bounded by ``chunksize`` plus one write (plus a small head read back).

The key is locked (:mod:`._s3_lock`) from open to close, across processes and machines.
``close()`` sends what is buffered, as the filesystem's close leaves written bytes in the file;
a process that exits normally closes its open writers (an ``atexit`` hook); one that is killed
loses its uncommitted bytes and leaves the lease to expire.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import weakref
from typing import Any

from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.registry.storage._s3_client import S3Client
from dockyard.registry.storage._s3_config import MIN_PART_SIZE
from dockyard.registry.storage._s3_lock import Lease, S3Locks
from dockyard.registry.storage._s3_objects import Multipart, S3Objects

__all__ = ["S3Writer"]

_open_writers: weakref.WeakSet[S3Writer] = weakref.WeakSet()
_open_guard = threading.Lock()


@atexit.register
def _close_open_writers() -> None:
    with _open_guard:
        writers = list(_open_writers)
    for w in writers:
        with contextlib.suppress(Exception):
            w.close()


class S3Writer:
    def __init__(
        self,
        client: S3Client,
        objects: S3Objects,
        locks: S3Locks,
        key: str,
        name: str,
        offset: int,
        lease: Lease,
    ) -> None:
        self._client, self._objects, self._locks = client, objects, locks
        self._key, self._name, self._lease = key, name, lease
        self._chunk = client.config.chunksize
        self._base = offset
        self._upload: Multipart | None = None
        self._buffer = bytearray()
        self._closed = False
        with _open_guard:
            _open_writers.add(self)

    @classmethod
    def open(
        cls,
        client: S3Client,
        objects: S3Objects,
        locks: S3Locks,
        key: str,
        name: str,
        offset: int,
        lease: Lease,
    ) -> S3Writer:
        """A writer on ``name`` at ``offset``: a missing object is created empty, bytes
        beyond ``offset`` are dropped now (before any write, as the filesystem does)."""
        try:
            client.run(lambda c: _prepare(objects, c, key, name, offset))
        except BaseException:
            locks.release(lease)
            raise
        return cls(client, objects, locks, key, name, offset, lease)

    @property
    def size(self) -> int:
        sent = self._upload.size if self._upload is not None else self._base
        return sent + len(self._buffer)

    def _check(self) -> None:
        if self._closed:
            raise ValueError("write to a closed writer")
        if self._lease.lost:
            raise Conflict(
                f"{self._key}: this writer's lock expired and another request took the key; "
                "retry the request"
            )

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._check()
        n = len(data)
        self._buffer += data
        if len(self._buffer) >= self._chunk:
            self._client.run(self._send_full_parts)
        return n

    async def _send_full_parts(self, client: Any) -> None:
        if self._upload is None:
            self._upload = await self._begin(client)
        while len(self._buffer) >= self._chunk:
            await self._objects.send_part(client, self._upload, self._buffer[: self._chunk])
            del self._buffer[: self._chunk]

    async def _begin(self, client: Any) -> Multipart:
        """A multipart upload carrying the object's committed head."""
        upload = await self._objects.start(client, self._name)
        try:
            if self._base >= MIN_PART_SIZE:
                await self._objects.copy_parts(client, upload, self._name, self._base)
            elif self._base:
                head = await self._objects.get(client, self._name, 0, self._base)
                self._buffer[:0] = head
        except BaseException:
            await self._objects.abort(client, upload)
            raise
        return upload

    def commit(self) -> None:
        self._check()
        self._client.run(self._persist)

    async def _persist(self, client: Any) -> None:
        """The object becomes everything written so far (one PUT or one completed upload)."""
        if self._upload is None:
            if not self._buffer:
                return
            if self._base == 0 or self._base + len(self._buffer) <= self._chunk:
                head = (
                    await self._objects.get(client, self._name, 0, self._base)
                    if self._base
                    else b""
                )
                await self._objects.put(client, self._name, head + self._buffer)
                self._base += len(self._buffer)
                self._buffer.clear()
                return
            self._upload = await self._begin(client)
        upload = self._upload
        try:
            if self._buffer:
                await self._objects.send_part(client, upload, self._buffer)
            await self._objects.complete(client, upload)
        except BaseException:
            self._upload = None
            self._buffer.clear()
            await self._objects.abort(client, upload)
            raise
        self._base, self._upload = upload.size, None
        self._buffer.clear()

    def truncate(self, size: int) -> None:
        if self._closed or size >= self.size:
            return
        if self._upload is None and size >= self._base:
            del self._buffer[size - self._base :]
            return

        async def cut(client: Any) -> None:
            await self._persist(client)
            await self._objects.keep_head(client, self._name, size)

        self._client.run(cut)
        self._base = size

    def close(self) -> None:
        if self._closed:
            return
        try:
            if not self._lease.lost and (self._buffer or self._upload is not None):
                self._client.run(self._persist)
        finally:
            self._closed = True
            with _open_guard:
                _open_writers.discard(self)
            self._locks.release(self._lease)


async def _prepare(objects: S3Objects, client: Any, key: str, name: str, offset: int) -> None:
    info = await objects.head(client, name)
    if info is None:
        if offset:
            raise NotFound(f"no content at {key} to continue at byte {offset}")
        await objects.put(client, name, b"")
        return
    size = int(info["ContentLength"])
    if size < offset:
        raise InvalidArgument(f"{key} has {size} bytes; a writer cannot start at byte {offset}")
    if size > offset:
        await objects.keep_head(client, name, offset)
