"""The build cache: content-based step keys → the layer each step produced, in SQLite.

A record survives the process (``<store>/build/cache.db``); it is only used while the layer
blob is still in the content store, so a ``gc`` that freed it simply turns the hit into a miss
(and ``dockyard builder prune`` drops it). ``used_at`` is when a build last used the record:
set when it is written and refreshed, once per build in one transaction, for the records a
build read (:func:`dockyard.builder.prune_cache`'s ``until`` compares it).

Opening a :class:`BuildCache` takes the build directory's shared lock (see
:mod:`dockyard.builder.cache._lock`), so a cache prune never removes what a running build may
use. Every statement on ``cache.db`` is in this module: the build's (:class:`BuildCache`) and
the inventory's and prune's (:func:`read_records`, :func:`delete_records`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.builder.cache._lock import BuildLock
from dockyard.builder.cache._sqlite import open_cache, read_only, transaction
from dockyard.digest import Digest

__all__ = ["CACHE_DB", "BuildCache", "CachedLayer", "cache_key", "delete_records", "read_records"]

#: the step records' database, in the store's ``build/`` directory
CACHE_DB = "cache.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS build_cache (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    used_at REAL NOT NULL DEFAULT (julianday('now'))
) WITHOUT ROWID
"""

#: A record read more than this long after it was last marked used is marked again (days).
_REFRESH = 60.0 / 86400


def cache_key(parent: str, kind: str, *parts: Any) -> str:
    """A step's key: the parent's key, what the step is, and the content it reads."""
    data = json.dumps([parent, kind, *parts], sort_keys=True, default=str, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(data.encode()).hexdigest()


@dataclass(frozen=True)
class CachedLayer:
    """What a step produced: its layer (None when it changed nothing) and when it was made."""

    digest: Digest | None
    diff_id: Digest | None
    size: int
    media_type: str
    created: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "digest": str(self.digest) if self.digest else None,
                "diff_id": str(self.diff_id) if self.diff_id else None,
                "size": self.size,
                "media_type": self.media_type,
                "created": self.created,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> CachedLayer:
        d = json.loads(text)
        return cls(
            Digest.parse(d["digest"]) if d["digest"] else None,
            Digest.parse(d["diff_id"]) if d["diff_id"] else None,
            int(d["size"]),
            str(d["media_type"]),
            str(d["created"]),
        )


class BuildCache:
    """Step records in ``path`` (thread-safe; several processes may share the file).

    With ``lock`` (the default) the build directory's shared lock is held until :meth:`close`.
    """

    def __init__(self, path: Path, *, lock: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._hold = BuildLock.shared(path.parent) if lock else None
        try:
            self._db = open_cache(path)
            self._db.execute(_SCHEMA)
        except BaseException:
            if self._hold is not None:
                self._hold.release()
            raise
        self._lock = threading.Lock()
        #: keys read whose ``used_at`` is older than :data:`_REFRESH`
        self._stale_use: set[str] = set()
        self._read_keys: set[str] = set()

    def close(self) -> None:
        try:
            self._mark_used()
        finally:
            self._db.close()
            if self._hold is not None:
                self._hold.release()

    def _read(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value, julianday('now') - used_at FROM build_cache WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            self._read_keys.add(key)
            if row[1] > _REFRESH:
                self._stale_use.add(key)
        return str(row[0])

    def _mark_used(self) -> None:
        """Refresh ``used_at`` of the records read (one transaction; none when all are fresh)."""
        with self._lock:
            keys, self._stale_use = sorted(self._stale_use), set()
            if not keys:
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "UPDATE build_cache SET used_at = julianday('now') WHERE key = ?",
                    [(k,) for k in keys],
                )
                self._db.execute("COMMIT")
            except sqlite3.Error:  # a busy or read-only store: the times are only a hint
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")

    def keys_read(self) -> list[str]:
        """The keys of every record read so far."""
        with self._lock:
            return sorted(self._read_keys)

    def get(self, key: str) -> CachedLayer | None:
        text = self._read(key)
        return CachedLayer.from_json(text) if text is not None else None

    def put(self, key: str, value: CachedLayer) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO build_cache (key, value) VALUES (?, ?)",
                (key, value.to_json()),
            )

    def get_text(self, key: str) -> str | None:
        """A plain value (image creation times are kept here too)."""
        return self._read(key)

    def put_text(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO build_cache (key, value) VALUES (?, ?)", (key, value)
            )


def read_records(path: Path) -> list[tuple[str, str, float]]:
    """Every record in the database at ``path``: (key, value, ``used_at`` as a Julian day)."""
    if not path.is_file():
        return []
    db = read_only(path)
    try:
        rows = db.execute("SELECT key, value, used_at FROM build_cache").fetchall()
    except sqlite3.OperationalError:  # no table yet
        rows = []
    finally:
        db.close()
    return [(str(k), str(v), float(u)) for k, v, u in rows]


def delete_records(path: Path, records: list[tuple[str, str]]) -> set[str]:
    """Delete each (key, value) record that still holds that value (a build that wrote the key
    again meanwhile keeps its new record); returns the keys deleted."""
    deleted: set[str] = set()
    if not records:
        return deleted
    with transaction(path) as db:
        for key, value in records:
            if db.execute(
                "DELETE FROM build_cache WHERE key = ? AND value = ?", (key, value)
            ).rowcount:
                deleted.add(key)
    return deleted
