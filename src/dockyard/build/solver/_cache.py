"""The build cache: content-based step keys → the layer each step produced, in SQLite.

A record survives the process (``<store>/build/cache.db``); it is only used while the layer
blob is still in the content store, so a ``gc`` that freed it simply turns the hit into a miss.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from dockyard.digest import Digest
from dockyard.record import record

__all__ = ["BuildCache", "CachedLayer", "cache_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS build_cache (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    used_at REAL NOT NULL DEFAULT (julianday('now'))
) WITHOUT ROWID
"""


def cache_key(parent: str, kind: str, *parts: Any) -> str:
    """A step's key: the parent's key, what the step is, and the content it reads."""
    data = json.dumps([parent, kind, *parts], sort_keys=True, default=str, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(data.encode()).hexdigest()


@record(frozen=True)
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
    """Step records in ``path`` (thread-safe; several processes may share the file)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def get(self, key: str) -> CachedLayer | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM build_cache WHERE key = ?", (key,)).fetchone()
        return CachedLayer.from_json(row[0]) if row else None

    def put(self, key: str, value: CachedLayer) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO build_cache (key, value) VALUES (?, ?)",
                (key, value.to_json()),
            )

    def get_text(self, key: str) -> str | None:
        """A plain value (image creation times are kept here too)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM build_cache WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def put_text(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO build_cache (key, value) VALUES (?, ?)", (key, value)
            )
