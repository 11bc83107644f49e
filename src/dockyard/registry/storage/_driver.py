"""The storage-driver interface: a small key/value store for blob bytes and upload data.

Keys are ``/``-separated relative paths made only by :mod:`dockyard.registry.storage._layout`.
Drivers never see repository names or other client input, only keys built from verified
digests and server-generated upload ids.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

__all__ = ["FileInfo", "FileWriter", "StorageDriver"]


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What :meth:`StorageDriver.stat` knows about a key."""

    key: str
    size: int
    mtime: float


class FileWriter(Protocol):
    """Appends to one key, which no other writer (nor :meth:`StorageDriver.trim`) can touch
    until ``close()``. ``commit()`` makes the written bytes durable (fsync); ``truncate()``
    drops bytes written beyond ``size`` (a request that failed half-way)."""

    @property
    def size(self) -> int: ...

    def write(self, data: bytes | bytearray | memoryview) -> int: ...

    def commit(self) -> None: ...

    def truncate(self, size: int) -> None: ...

    def close(self) -> None: ...


class StorageDriver(Protocol):
    """Where the bytes live: the filesystem now, S3-compatible stores later."""

    def reader(self, key: str, offset: int = 0) -> BinaryIO:
        """Open ``key`` for reading from ``offset``; NotFound when it does not exist."""
        ...

    def writer(self, key: str, offset: int = 0) -> FileWriter:
        """Open ``key`` for writing at ``offset``; bytes beyond it are dropped first. Conflict
        when another writer (in any process) has ``key`` open."""
        ...

    def trim(self, key: str, keep: Callable[[], int | None]) -> bool:
        """Drop the bytes of ``key`` beyond ``keep()`` unless a writer has ``key`` open (then
        nothing happens: the writer drops them itself). ``keep`` is asked while writers are
        locked out, so its answer cannot change underneath; None keeps everything. Whether
        bytes were dropped."""
        ...

    def stat(self, key: str) -> FileInfo | None:
        """Size and mtime of ``key``, or None when it does not exist."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` (a file or a whole prefix); missing keys are not an error."""
        ...

    def list(self, prefix: str) -> Iterator[str]:
        """Every key under ``prefix`` (files only), in no particular order."""
        ...

    def move(self, source: str, target: str) -> None:
        """Atomically put ``source``'s bytes at ``target`` (replacing it) and drop ``source``."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path for ``key`` when the driver has one (for zero-copy sends)."""
        ...

    def body_socket(self, key: str, offset: int, length: int) -> socket.socket | None:
        """A connected socket whose next ``length`` bytes are ``key``'s from ``offset`` (for
        zero-copy sends with ``splice``), or None when the driver has no such path for it."""
        ...

    def url_for(self, key: str) -> str | None:
        """A URL a client may GET ``key``'s bytes from directly for a while (a presigned
        object URL), or None when the driver has none; the key must exist."""
        ...
