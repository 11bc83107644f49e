"""Content checksums of what a COPY/ADD reads, for cache keys, with a persisted stat index.

The checksum covers, for every file below each matched source (in byte order): its path
relative to the copy, mode, owner (only when the copy keeps owners, i.e. without ``--chown`` and
from a stage), symlink target and content hash. Content hashes are remembered in SQLite by
(root, path) with the size, mtime, ctime and inode they were computed for, so an unchanged
context is only stat-ed, not read, on the next build.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import threading
from collections.abc import Sequence
from pathlib import Path

from dockyard.build.worker._match import matches_or_parent
from dockyard.build.worker._sources import match_sources
from dockyard.digest import Digest

__all__ = ["ChecksumIndex"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS file_hashes (
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (root, path)
) WITHOUT ROWID
"""

_Stat = tuple[int, int, int, int]


def _key(st: os.stat_result) -> _Stat:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class ChecksumIndex:
    """Checksums of source files, remembered in the SQLite database at ``path``."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()
        self.files_hashed = 0  #: files read (not found in the index) since opening

    def close(self) -> None:
        self._db.close()

    def _known(self, root: str) -> dict[str, tuple[_Stat, str]]:
        rows = self._db.execute(
            "SELECT path, size, mtime_ns, ctime_ns, inode, hash FROM file_hashes WHERE root = ?",
            (root,),
        )
        return {r[0]: ((r[1], r[2], r[3], r[4]), r[5]) for r in rows}

    def checksum(
        self,
        source_root: Path,
        sources: Sequence[str],
        *,
        excludes: Sequence[str] = (),
        include_owner: bool = False,
    ) -> Digest:
        """The content checksum of ``sources`` (as COPY matches them) under ``source_root``."""
        root = str(source_root.resolve())
        with self._lock:
            known = self._known(root)
        fresh: list[tuple[str, _Stat, str]] = []
        total = hashlib.sha256()

        def record(rel: str, host: Path, st: os.stat_result) -> None:
            mode = st.st_mode
            line = f"{rel}\0{mode:o}\0"
            if include_owner:
                line += f"{st.st_uid}:{st.st_gid}"
            line += "\0"
            if stat.S_ISLNK(mode):
                line += os.readlink(host)
            elif stat.S_ISREG(mode):
                key = os.path.relpath(host, root)
                cached = known.get(key)
                if cached is not None and cached[0] == _key(st):
                    digest = cached[1]
                else:
                    digest = _hash_file(host)
                    fresh.append((key, _key(st), digest))
                line += digest
            total.update(line.encode("utf-8", "surrogateescape") + b"\n")

        for match in match_sources(source_root, sources):
            st = os.stat(match.host) if os.path.exists(match.host) else os.lstat(match.host)
            record(match.path, match.host, st)
            if not stat.S_ISDIR(st.st_mode):
                continue
            for dirpath, dirs, files in os.walk(match.host):
                dirs.sort(key=os.fsencode)
                base = Path(dirpath)
                prefix = os.path.relpath(dirpath, match.host)
                for name in sorted([*dirs, *files], key=os.fsencode):
                    rel = name if prefix == "." else f"{prefix}/{name}"
                    if any(matches_or_parent(p, rel) for p in excludes):
                        if name in dirs:
                            dirs.remove(name)
                        continue
                    record(f"{match.path}/{rel}", base / name, os.lstat(base / name))
        self.files_hashed += len(fresh)
        if fresh:
            with self._lock:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR REPLACE INTO file_hashes VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(root, k, *s, h) for k, s, h in fresh],
                )
                self._db.execute("COMMIT")
        return Digest.parse("sha256:" + total.hexdigest())
