"""Which processes holding a queue's rows are alive. A process that claims holds a lock the
operating system or PostgreSQL releases when it dies
(:class:`~dockyard.registry._run_locks.RunLocks`, keyed by its owner name): rows leased to an
owner whose lock is free are due again at once, so another replica takes over the work of a
killed one within a poll, not after the lease."""

from __future__ import annotations

import threading
import time
import uuid
import weakref
import zlib
from collections.abc import Callable, Iterable

from dockyard.registry._run_locks import HeldRun, RunLocks
from dockyard.registry.metadata import Database

__all__ = ["Owners", "owner_key"]

#: Seconds between two tries to take this process's lock while the database refuses it.
RETRY = 10.0


def owner_key(owner: str) -> int:
    """An owner's liveness lock (a 31-bit key: two owners sharing one only wait for the
    lease)."""
    return zlib.crc32(owner.encode()) & 0x7FFFFFFF


class Owners:
    """This process's owner name on a queue's rows (:attr:`name`), its liveness lock (of
    the lock kind ``kind``), and which other owners are dead."""

    def __init__(self, db: Database, kind: str) -> None:
        self.name = uuid.uuid4().hex
        self.locks = RunLocks(db, kind)
        self._alive: HeldRun | None = None
        #: releases ``_alive`` when closed, or when the owner is dropped unclosed
        self._release: Callable[[], object] | None = None
        self._retry_at = 0.0
        #: the worker's threads claim at the same time: one of them takes the lock
        self._lock = threading.Lock()

    def close(self) -> None:
        """Let go of this process's liveness lock (its rows are finished or given back)."""
        with self._lock:
            self._let_go()

    def _let_go(self) -> None:
        release, self._release, self._alive = self._release, None, None
        if release is not None:
            release()

    def holding(self) -> bool:
        """This process's liveness lock, taken when missing; False while it cannot be taken
        where others would check it (claiming then would let them take our rows)."""
        if not self.locks.tells:
            return True  # nobody can tell: rows wait for their lease
        with self._lock:
            now = time.monotonic()
            if self._alive is not None and self._alive.alive():
                return True
            if now < self._retry_at:
                return False
            self._let_go()
            self._alive = self.locks.hold(owner_key(self.name))
            self._release = weakref.finalize(self, self._alive.release)
            if not self._alive.held:
                self._retry_at = now + RETRY  # one warning per RETRY seconds while refused
            return self._alive.held

    def dead(self, tokens: Iterable[str]) -> list[str]:
        """The owners of lease ``tokens`` (``owner:claim``) whose process is gone (its lock
        is free), this one's aside."""
        owners = {str(t).partition(":")[0] for t in tokens} - {self.name, ""}
        return [o for o in sorted(owners) if self.locks.abandoned(owner_key(o)) is True]
