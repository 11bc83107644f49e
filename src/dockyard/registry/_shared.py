"""Change counters that every registry process on one data directory shares, so that a write
in one process drops the other processes' cached reads at once (no SQL on the hot path).

A small file is memory-mapped by each process: 4096 counters of 8 bytes, one slot per
repository (a stable hash of its name; repositories sharing a slot just invalidate each other).
A writer bumps its repository's counter under an exclusive ``flock`` *after* its database
transaction committed; a reader compares the counter with the value it saw when it cached.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import threading
import zlib
from pathlib import Path
from typing import Protocol

__all__ = ["Generations", "SharedGenerations"]

SLOTS = 4096
_SIZE = SLOTS * 8
_COUNTER = struct.Struct("<Q")


class Generations(Protocol):
    """Change counters shared by every process serving the same registry: this module's file
    (one machine) or :class:`dockyard.registry.redis.RedisGenerations` (several)."""

    def get(self, repository: str) -> int: ...

    def bump(self, repository: str) -> None: ...

    def close(self) -> None: ...


class SharedGenerations:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            if os.fstat(fd).st_size < _SIZE:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    if os.fstat(fd).st_size < _SIZE:
                        os.ftruncate(fd, _SIZE)  # zeros: every counter starts at 0
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            self._map = mmap.mmap(fd, _SIZE)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._slots: dict[str, int] = {}
        self._lock = threading.Lock()  # flock does not exclude threads sharing this descriptor

    def slot(self, repository: str) -> int:
        slot = self._slots.get(repository)
        if slot is None:
            if len(self._slots) > 100_000:
                self._slots.clear()
            slot = self._slots[repository] = (zlib.crc32(repository.encode()) % SLOTS) * 8
        return slot

    def get(self, repository: str) -> int:
        """``repository``'s counter now (a plain read of shared memory)."""
        return int(_COUNTER.unpack_from(self._map, self.slot(repository))[0])

    def bump(self, repository: str) -> None:
        """Tell every process that ``repository`` changed (call after the change committed)."""
        slot = self.slot(repository)
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                value = _COUNTER.unpack_from(self._map, slot)[0]
                _COUNTER.pack_into(self._map, slot, (value + 1) & 0xFFFFFFFFFFFFFFFF)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)
