"""Content checksums of what a COPY/ADD reads, for cache keys, with a persisted stat index.

The checksum covers, for every file below each matched source (in byte order): its path
relative to the copy, mode, owner (only when the copy keeps owners, i.e. without ``--chown`` and
from a stage), symlink target and content hash. Content hashes are remembered in SQLite per
root, with the size, mtime, ctime and inode they were computed for, so an unchanged context is
only stat-ed, not read, on the next build. Every statement on ``checksums.db`` is in this
module (the index's, and the inventory's and prune's: :func:`indexed_roots`,
:func:`forget_roots`).
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sqlite3
import stat
import threading
from collections.abc import Sequence
from pathlib import Path

from dockyard.builder.cache._sqlite import open_cache, read_only, transaction
from dockyard.builder.worker._match import matches_or_parent
from dockyard.builder.worker._sources import match_sources
from dockyard.digest import Digest

__all__ = ["CHECKSUM_DB", "ChecksumIndex", "forget_roots", "indexed_roots"]

#: the checksum index's database, in the store's ``build/`` directory
CHECKSUM_DB = "checksums.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS file_index (
    root TEXT PRIMARY KEY,
    entries BLOB NOT NULL
) WITHOUT ROWID
"""

_Stat = tuple[int, int, int, int]
#: path (relative to the root) -> (size, mtime_ns, ctime_ns, inode, sha256 hex)
_Index = dict[str, tuple[int, int, int, int, str]]


def _key(st: os.stat_result) -> _Stat:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _hash_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _sorted_entries(path: str) -> list[os.DirEntry[str]]:
    with os.scandir(path) as it:
        entries = list(it)
    if all(e.name.isascii() for e in entries):
        entries.sort(key=lambda e: e.name)  # same as byte order for ASCII names
    else:
        entries.sort(key=lambda e: os.fsencode(e.name))
    return entries


class ChecksumIndex:
    """Checksums of source files, remembered in the SQLite database at ``path``.

    The index of one source root is a single record (a ``marshal``-ed dict), so an unchanged
    10,000-file context costs one read, one ``scandir`` walk with ``lstat`` per file, and no
    hashing. Several processes may share the file; the last writer's record wins, which at worst
    makes the next build hash a few files again.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = open_cache(path)
        self._db.execute(_SCHEMA)
        self._db.execute("DROP TABLE IF EXISTS file_hashes")  # the row-per-file layout before
        self._lock = threading.Lock()
        self._indexes: dict[str, _Index] = {}
        self.files_hashed = 0  #: files read (not found in the index) since opening

    def close(self) -> None:
        self._db.close()

    def _known(self, root: str) -> _Index:
        if root not in self._indexes:
            row = self._db.execute(
                "SELECT entries FROM file_index WHERE root = ?", (root,)
            ).fetchone()
            index: _Index = {}
            if row is not None:
                try:
                    loaded = marshal.loads(row[0])
                except (EOFError, ValueError, TypeError):
                    loaded = None
                if isinstance(loaded, dict):
                    index = loaded
            self._indexes[root] = index
        return self._indexes[root]

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
        fresh: _Index = {}
        total = hashlib.sha256()
        update = total.update

        def record(rel: str, host: str, key: str, st: os.stat_result) -> None:
            mode = st.st_mode
            owner = f"{st.st_uid}:{st.st_gid}" if include_owner else ""
            if stat.S_ISREG(mode):
                cached = known.get(key)
                if cached is not None and cached[:4] == _key(st):
                    digest = cached[4]
                else:
                    digest = _hash_file(host)
                    fresh[key] = (*_key(st), digest)
            elif stat.S_ISLNK(mode):
                digest = os.readlink(host)
            else:
                digest = ""
            line = f"{rel}\0{mode:o}\0{owner}\0{digest}\n"
            update(line.encode("utf-8", "surrogateescape"))

        def walk(host_dir: str, rel_dir: str, key_dir: str, prefix: str) -> None:
            # as os.walk did it: a directory's entries first, then its subdirectories in order
            subdirs: list[tuple[str, str, str]] = []
            for entry in _sorted_entries(host_dir):
                name = entry.name
                rel = f"{rel_dir}/{name}" if rel_dir else name
                if excludes and any(matches_or_parent(p, rel) for p in excludes):
                    continue
                key = f"{key_dir}/{name}" if key_dir else name
                st = entry.stat(follow_symlinks=False)
                record(f"{prefix}/{rel}", entry.path, key, st)
                if stat.S_ISDIR(st.st_mode):
                    subdirs.append((entry.path, rel, key))
            for host, rel, key in subdirs:
                walk(host, rel, key, prefix)

        for match in match_sources(source_root, sources):
            host = str(match.host)
            st = os.stat(host) if os.path.exists(host) else os.lstat(host)
            key = os.path.relpath(host, root)
            record(match.path, host, key, st)
            if stat.S_ISDIR(st.st_mode):
                walk(host, "", "" if key == "." else key, match.path)
        self.files_hashed += len(fresh)
        if fresh:
            with self._lock:
                known.update(fresh)
                self._db.execute(
                    "INSERT OR REPLACE INTO file_index (root, entries) VALUES (?, ?)",
                    (root, marshal.dumps(known)),
                )
        return Digest.parse("sha256:" + total.hexdigest())


def indexed_roots(path: Path) -> list[tuple[str, int]]:
    """(source root, bytes of its index) of every root the database at ``path`` indexes."""
    if not path.is_file():
        return []
    db = read_only(path)
    try:
        rows = db.execute("SELECT root, length(entries) FROM file_index").fetchall()
    except sqlite3.OperationalError:  # no table yet
        rows = []
    finally:
        db.close()
    return [(str(root), int(size)) for root, size in rows]


def forget_roots(path: Path, roots: list[str]) -> None:
    """Delete the indexes of ``roots``."""
    if roots:
        with transaction(path) as db:
            db.executemany("DELETE FROM file_index WHERE root = ?", [(r,) for r in roots])
