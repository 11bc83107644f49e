"""Whether a background run (a retention execution, a garbage collection) still has a live
process working on it: the process running it holds a lock the operating system releases
when the process ends, however it ends (``kill -9`` included). A run left "Running" whose
lock nobody holds was abandoned by a process that died, and can be closed at once, without
waiting for a timeout, and without touching the runs live sibling processes (server workers
sharing the database) are working on.

With SQLite (one machine: the database is a local file) the locks are ``flock`` locks on one
small file per run, next to the database. With another database the registry's processes may
live on several machines, and :meth:`RunLocks.abandoned` answers None (cannot tell): callers
fall back on their own staleness rules.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from pathlib import Path

from dockyard.registry.metadata import Database

__all__ = ["HeldRun", "RunLocks"]

log = logging.getLogger("dockyard.registry")


class HeldRun:
    """This process's lock on one run; :meth:`release` when the run has ended."""

    def __init__(self, locks: RunLocks, run_id: int, fd: int | None) -> None:
        self._locks = locks
        self.run_id = run_id
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        self._locks._released(self.run_id)
        if fd is None:
            return
        path = self._locks._path(self.run_id)
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()
        os.close(fd)


class RunLocks:
    """The locks of one kind of run (``kind`` names the files: ``retention``, ``gc``)."""

    def __init__(self, db: Database, kind: str) -> None:
        self.kind = kind
        self.dir: Path | None = None
        url = db.engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            database = Path(str(url.database))
            self.dir = database.parent / f"{database.name}-runs"
        self._mine: set[int] = set()
        self._lock = threading.Lock()

    def _path(self, run_id: int) -> Path | None:
        return None if self.dir is None else self.dir / f"{self.kind}-{run_id}.lock"

    def hold(self, run_id: int) -> HeldRun:
        """Take ``run_id``'s lock for this process (until :meth:`HeldRun.release`)."""
        with self._lock:
            self._mine.add(run_id)
        path = self._path(run_id)
        if path is None:
            return HeldRun(self, run_id, None)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:  # the run goes on; only a crash would go unnoticed
            log.warning("cannot lock %s: %s", path, exc)
            return HeldRun(self, run_id, None)
        return HeldRun(self, run_id, fd)

    def _released(self, run_id: int) -> None:
        with self._lock:
            self._mine.discard(run_id)

    def abandoned(self, run_id: int) -> bool | None:
        """True when no live process holds ``run_id``'s lock; None when that cannot be told
        (a database other processes may reach from other machines)."""
        with self._lock:
            if run_id in self._mine:
                return False
        path = self._path(run_id)
        if path is None:
            return None
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live process holds it
        except OSError:
            return None
        finally:
            os.close(fd)  # closing releases a lock taken here
        with contextlib.suppress(OSError):
            path.unlink()
        return True
