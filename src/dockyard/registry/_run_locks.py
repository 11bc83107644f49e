"""Whether a background run (a retention execution, a garbage collection) still has a live
process working on it: the process running it holds a lock the operating system releases
when the process ends, however it ends (``kill -9`` included). A run left "Running" whose
lock nobody holds was abandoned by a process that died, and can be closed at once, without
waiting for a timeout, and without touching the runs live sibling processes (server workers
sharing the database) are working on.

With SQLite (one machine: the database is a local file) the locks are ``flock`` locks on one
small file per run, next to the database. With PostgreSQL the registry's processes may live on
several machines, and the lock is a session-level advisory lock (two keys: the kind, the run
id) on a connection the holder keeps open: PostgreSQL releases it the moment that connection
drops — the process died, or its machine did (at the latest when the server's TCP keepalive
gives up) — so another replica can close the run within seconds. With any other database
:meth:`RunLocks.abandoned` answers None (cannot tell): callers fall back on their own
staleness rules.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import zlib
from pathlib import Path
from typing import Any

from dockyard.registry.metadata import Database

__all__ = ["HeldRun", "RunLocks"]

log = logging.getLogger("dockyard.registry")


class HeldRun:
    """This process's lock on one run; :meth:`release` when the run has ended."""

    def __init__(
        self, locks: RunLocks, run_id: int, fd: int | None, connection: Any = None
    ) -> None:
        self._locks = locks
        self.run_id = run_id
        self._fd = fd
        self._connection = connection

    @property
    def held(self) -> bool:
        """Whether a lock is really held (False: the database or file system refused it, or
        this kind of database has none; other processes cannot tell this run is alive)."""
        return self._fd is not None or self._connection is not None

    def alive(self) -> bool:
        """Whether the lock is still held: a PostgreSQL session lock goes with its connection
        (the server restarted, the network dropped it), which this asks the server about."""
        if self._connection is None:
            return self._fd is not None
        try:
            self._connection.exec_driver_sql("SELECT 1")
            self._connection.commit()
        except Exception:
            return False
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        connection, self._connection = self._connection, None
        self._locks._released(self.run_id)
        if connection is not None:
            self._locks._unlock(connection, self.run_id)
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
        #: PostgreSQL: the engine whose sessions hold advisory locks, and this kind's key
        self._engine = db.engine if url.get_backend_name() == "postgresql" else None
        self._key = zlib.crc32(f"dockyard-runs:{kind}".encode()) & 0x7FFFFFFF

    @property
    def tells(self) -> bool:
        """Whether :meth:`abandoned` can tell (PostgreSQL, or SQLite in a file)."""
        return self._engine is not None or self.dir is not None

    def _path(self, run_id: int) -> Path | None:
        return None if self.dir is None else self.dir / f"{self.kind}-{run_id}.lock"

    def hold(self, run_id: int) -> HeldRun:
        """Take ``run_id``'s lock for this process (until :meth:`HeldRun.release`)."""
        with self._lock:
            self._mine.add(run_id)
        if self._engine is not None:
            return HeldRun(self, run_id, None, self._advisory(run_id))
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

    def _advisory(self, run_id: int) -> Any:
        """A connection of its own holding ``run_id``'s session lock (None: could not take it;
        the run goes on, only a crash would go unnoticed)."""
        try:
            connection = self._engine.connect()  # type: ignore[union-attr]
            connection.exec_driver_sql(
                f"SELECT pg_advisory_lock({self._key}, {int(run_id) & 0x7FFFFFFF})"
            )
            connection.commit()  # the session lock outlives the transaction; no open snapshot
        except Exception as exc:
            log.warning("cannot lock %s run %d in the database: %s", self.kind, run_id, exc)
            return None
        return connection

    def _unlock(self, connection: Any, run_id: int) -> None:
        """Release by ending the session (the server drops its locks with it): the connection
        never goes back to the pool, so it is closed even when the release comes late — from a
        finalizer, after the engine was disposed — and a failed unlock cannot leave a pooled
        session holding the lock."""
        try:
            connection.invalidate()
        finally:
            connection.close()

    def _released(self, run_id: int) -> None:
        with self._lock:
            self._mine.discard(run_id)

    def abandoned(self, run_id: int) -> bool | None:
        """True when no live process holds ``run_id``'s lock; None when that cannot be told
        (a database other processes may reach from other machines)."""
        with self._lock:
            if run_id in self._mine:
                return False
        if self._engine is not None:
            return self._advisory_free(run_id)
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

    def _advisory_free(self, run_id: int) -> bool | None:
        key = int(run_id) & 0x7FFFFFFF
        try:
            with self._engine.connect() as connection:  # type: ignore[union-attr]
                taken = connection.exec_driver_sql(
                    f"SELECT pg_try_advisory_lock({self._key}, {key})"
                ).scalar_one()
                if taken:
                    connection.exec_driver_sql(f"SELECT pg_advisory_unlock({self._key}, {key})")
                connection.commit()
        except Exception as exc:
            log.warning("cannot check %s run %d's lock: %s", self.kind, run_id, exc)
            return None
        return bool(taken)
