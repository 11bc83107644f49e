"""The SQLite plumbing the build cache's two databases share: a read-only connection, a write
transaction, and giving deleted pages back to the file system. The tables and their SQL are
each database's own module's (``records``: ``cache.db``, ``checksums``: ``checksums.db``)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

__all__ = ["open_cache", "read_only", "transaction", "vacuum"]


def open_cache(path: Path) -> sqlite3.Connection:
    """A build's connection to cache database ``path`` (shared by its threads; autocommit).

    In WAL mode with ``synchronous=NORMAL`` a commit does not wait for the disk: it is atomic
    and seen by every other connection at once, and only a power loss may undo the last ones.
    Both databases are caches (a lost record is a step run again, a lost checksum a file hashed
    again, and a layer blob is synced before the record naming it is written), so a build does
    not pay a sync per record.
    """
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=10000")
    return db


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
