"""One SQLite connection with explicit transactions: WAL, busy timeout, BEGIN IMMEDIATE writes."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dockyard.errors import FailedPrecondition, Unavailable
from dockyard.metadata._schema import MIGRATIONS, SCHEMA_VERSION

__all__ = ["Database"]

#: How long a statement waits for another process's write to finish before giving up.
DEFAULT_BUSY_TIMEOUT = 60.0


class Database:
    """A connection shared by the threads of one process (serialised by a lock).

    ``write()`` opens ``BEGIN IMMEDIATE`` so writers queue on SQLite's lock instead of failing
    on upgrade; ``read()`` opens a deferred transaction for a consistent snapshot. Both nest:
    an inner block joins the outer transaction.
    """

    def __init__(self, path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        self._timeout = busy_timeout
        self._lock = threading.RLock()
        self._depth = 0
        self._writing = False
        self._pid = os.getpid()
        self._conn = self._connect()
        self._migrate()

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise Unavailable(
                f"cannot open the metadata database {self.path}: {exc}; check that the "
                "directory exists and is writable"
            ) from exc
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _migrate(self) -> None:
        deadline = time.monotonic() + self._timeout
        while True:  # switching to WAL can fail with "locked" while another process does it
            try:
                mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        if str(mode).lower() != "wal":  # pragma: no cover - e.g. a filesystem without mmap
            self._conn.execute("PRAGMA journal_mode = DELETE")
        with self.write() as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise FailedPrecondition(
                    f"the metadata database {self.path} has schema version {version}, newer than "
                    f"this dockyard understands ({SCHEMA_VERSION}); upgrade dockyard"
                )
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _statements(MIGRATIONS[number - 1]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")

    @property
    def schema_version(self) -> int:
        with self.read() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def _connection(self) -> sqlite3.Connection:
        if os.getpid() != self._pid:  # a forked child must not share its parent's connection
            self._pid = os.getpid()
            self._depth = 0
            self._writing = False
            self._lock = threading.RLock()
            self._conn = self._connect()
        return self._conn

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction. ``durable=False`` commits without waiting for the disk (still
        atomic, and seen by every other connection at once; only a power loss may undo it):
        for records that matter only while this process lives, such as leases."""
        with self._transaction(write=True, durable=durable) as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._transaction(write=False) as conn:
            yield conn

    @contextmanager
    def _transaction(self, *, write: bool, durable: bool = True) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        with self._lock:
            if self._depth:
                if write and not self._writing:
                    raise RuntimeError("a write transaction cannot nest inside a read")
                self._depth += 1
                try:
                    yield conn
                finally:
                    self._depth -= 1
                return
            if not durable:
                conn.execute("PRAGMA synchronous = NORMAL")
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.OperationalError as exc:
                if not durable:
                    conn.execute("PRAGMA synchronous = FULL")
                raise Unavailable(
                    f"the metadata database {self.path} is busy ({exc}); another dockyard "
                    "process holds it — try again"
                ) from exc
            self._depth, self._writing = 1, write
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            finally:
                self._depth, self._writing = 0, False
                if not durable:
                    conn.execute("PRAGMA synchronous = FULL")

    def close(self) -> None:
        with self._lock:
            if os.getpid() == self._pid:
                self._conn.close()


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (our schema has no '--' or ';' in literals)."""
    code = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    return [text.strip() for text in code.split(";") if text.strip()]
