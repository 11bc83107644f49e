"""What a build's bookkeeping commits without waiting for the disk: the two cache databases'
records and the store lease's rows, each still atomic and seen by other processes at once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dockyard.builder.cache.checksums import ChecksumIndex
from dockyard.builder.cache.records import BuildCache, CachedLayer
from dockyard.digest import Digest
from dockyard.local import LocalStore

_NORMAL, _FULL = 1, 2
_DIGEST = Digest.parse("sha256:" + "ab" * 32)


def _other(path: Path) -> sqlite3.Connection:
    """A second connection, as another process would open the file."""
    return sqlite3.connect(path)


def test_cache_records_commit_without_a_sync_and_are_seen_at_once(tmp_path: Path) -> None:
    path = tmp_path / "build" / "cache.db"
    cache = BuildCache(path, lock=False)
    try:
        cache.put("k", CachedLayer(_DIGEST, _DIGEST, 3, "application/x", "2026-01-01T00:00:00Z"))
        assert cache._db.execute("PRAGMA synchronous").fetchone() == (_NORMAL,)
        other = _other(path)
        try:
            assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert other.execute("SELECT count(*) FROM build_cache").fetchone() == (1,)
        finally:
            other.close()
    finally:
        cache.close()
    reopened = BuildCache(path, lock=False)
    try:
        assert reopened.get("k") is not None  # kept across processes
    finally:
        reopened.close()


def test_checksum_index_commits_without_a_sync(tmp_path: Path) -> None:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "a.txt").write_text("one\n")
    index = ChecksumIndex(tmp_path / "build" / "checksums.db")
    try:
        index.checksum(tmp_path / "ctx", ["a.txt"])
        (sync,) = index._db.execute("PRAGMA synchronous").fetchone()
        assert sync == _NORMAL
    finally:
        index.close()
    again = ChecksumIndex(tmp_path / "build" / "checksums.db")
    try:
        again.checksum(tmp_path / "ctx", ["a.txt"])
        assert again.files_hashed == 0  # the first index's record was kept
    finally:
        again.close()


def test_lease_rows_are_written_unsynced_and_seen_at_once(tmp_path: Path) -> None:
    with LocalStore.open(tmp_path / "store") as store:
        statements: list[str] = []
        with store.metadata.read() as conn:  # the store's one connection
            conn.set_trace_callback(statements.append)
        with store.lease(description="build") as lease:
            lease.add(_DIGEST)
            other = _other(store.metadata.path)
            try:
                rows = other.execute("SELECT digest FROM lease_blobs").fetchall()
                assert rows == [(str(_DIGEST),)]
            finally:
                other.close()
        assert store.leases() == []
        # every lease write (create, add, release) was committed with synchronous=NORMAL
        sync = "FULL"
        writes = 0
        for text in statements:
            if text.startswith("PRAGMA synchronous"):
                sync = text.rsplit(" ", 1)[-1]
            elif text.startswith(("INSERT", "UPDATE", "DELETE")):
                writes += 1
                assert sync == "NORMAL", text
        assert writes >= 3
        with store.metadata.read() as conn:  # later commits wait for the disk again
            assert conn.execute("PRAGMA synchronous").fetchone() == (_FULL,)
