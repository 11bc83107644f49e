"""The SQLite plumbing the build cache's two databases share: a read-only connection, a write
transaction, and giving deleted pages back to the file system. The tables and their SQL are
each database's own module's (``records``: ``cache.db``, ``checksums``: ``checksums.db``)."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["open_cache", "read_only", "transaction", "vacuum"]

#: How long a connection keeps trying to switch a busy database to WAL (seconds).
WAL_WAIT = 30.0


def open_cache(path: Path) -> sqlite3.Connection:
    """A build's connection to cache database ``path`` (shared by its threads; autocommit).

    In WAL mode with ``synchronous=NORMAL`` a commit does not wait for the disk: it is atomic
    and seen by every other connection at once, and only a power loss may undo the last ones.
    Both databases are caches (a lost record is a step run again, a lost checksum a file hashed
    again, and a layer blob is synced before the record naming it is written), so a build does
    not pay a sync per record.
    """
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
    try:
        _wal(db)
        db.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        db.close()
        raise
    return db


def _wal(db: sqlite3.Connection) -> None:
    """Put the database in WAL mode, once: the switch needs the file to itself, and SQLite
    answers "database is locked" at once (no busy wait) when another connection — another
    platform's build opening a fresh cache at the same moment — holds it; try again then."""
    deadline = time.monotonic() + WAL_WAIT
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write ``path`` (which must exist)."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)


@contextlib.contextmanager
def transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` transaction on ``path``, committed when the block ends."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    finally:
        db.close()


def vacuum(path: Path) -> None:
    """Give the pages of deleted rows back to the file system (a busy database keeps them)."""
    if not path.is_file():
        return
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        with contextlib.suppress(sqlite3.Error):
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
