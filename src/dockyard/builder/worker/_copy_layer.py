"""The layer of a COPY, written straight from its sources (BuildKit's lazy way).

What a COPY changes is known without doing it: the copied files (with their new owners and
modes), the directories it makes, and the existing directories above them. So the layer tar is
written from the source files directly: one ``lstat`` and one read per file, nothing written
into a snapshot, nothing diffed. The snapshot a later RUN needs is made from this layer only
when (and if) it is needed.

The walk and the rules are :func:`~._copy.copy_into`'s (:class:`~._copy.CopyRules`; :mod:`._copy`
says why the two consumers stay apart; a test builds both ways and compares): the top-level
destination is resolved in the parent root filesystem ``view`` (symlinks in its parent path
followed inside the root), directories the copy makes are 0755 and owned by ``--chown``'s user,
existing parent directories are written with their own metadata, context files become root's (or
``--chown``'s), sources from another stage keep their owners, ``--chmod``, ``--exclude`` and
``--parents`` apply. Requests this module does not cover (``ADD`` archives) are refused with
:class:`Uncovered`, and the caller copies the slow way.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dockyard.builder.worker._copy import CopyRequest, CopyRules, check_sources
from dockyard.builder.worker._scope import resolve_in_root
from dockyard.layers import LayerTarWriter

__all__ = ["Uncovered", "write_copy_layer"]


class Uncovered(Exception):
    """This request needs the copying path (the caller falls back to it)."""


@dataclass
class _Entry:
    path: Path | None  #: the source file; None for a directory the copy makes or keeps
    st: os.stat_result | None
    mode: int = 0o755
    owner: tuple[int, int] = (0, 0)
    mtime: int = 0


def _key(name: str) -> tuple[bytes, ...]:
    return tuple(os.fsencode(part) for part in name.split("/"))


class _Planner(CopyRules):
    def __init__(self, view: Path, request: CopyRequest, now: int) -> None:
        super().__init__(view, request)
        self.view = view
        self.now = now
        self.entries: dict[str, _Entry] = {}

    def _put(self, name: str, path: Path, st: os.stat_result) -> None:
        if stat.S_ISSOCK(st.st_mode):
            return
        # a path replaced by this copy loses what was below it in the same copy
        if name in self.entries and not stat.S_ISDIR(st.st_mode):
            prefix = name + "/"
            for other in [n for n in self.entries if n.startswith(prefix)]:
                del self.entries[other]
        self.entries[name] = _Entry(
            path, st, self._mode(st), self._ids(st), st.st_mtime_ns // 1_000_000_000
        )

    def _tree(self, src: Path, name: str, rel: str = "") -> None:
        """Entries for the contents of directory ``src`` copied to ``name`` ('' = the root)."""
        for base, child_rel, child, st in self.children(src, rel):
            child_name = f"{name}/{base}" if name else base
            self._put(child_name, child, st)
            if stat.S_ISDIR(st.st_mode):
                self._tree(child, child_name, child_rel)

    def _target(self, where: str) -> str:
        """The layer name of in-image path ``where``: its parent resolved in the view."""
        parent = os.path.dirname(where)
        host_parent = resolve_in_root(self.view, parent)
        if os.path.lexists(host_parent) and not host_parent.is_dir():
            raise Uncovered(f"{parent} is not a directory")  # copy_into reports this
        rel = os.path.relpath(host_parent, self.view)
        base = os.path.basename(where)
        return base if rel == "." else f"{rel}/{base}"

    def plan(self, source_root: Path) -> None:
        request = self.request
        check_sources(request)
        if request.unpack_archives:
            raise Uncovered("ADD may unpack archives")
        dest, placements = self.placements(source_root, self.view)
        if not placements and request.dest.endswith("/") and dest != "/":
            name = self._target(dest)
            if not os.path.lexists(self.view / name):
                self.entries[name] = _Entry(None, None, 0o755, self.parent_owner, self.now)
        for match, st, where, is_dir in placements:
            if is_dir:
                if where == "/":
                    self._tree(match.host, "")
                    continue
                name = self._target(where)
                host = self.view / name
                known = self.entries.get(name)
                if known is not None:
                    existed = known.st is None or stat.S_ISDIR(known.st.st_mode)
                else:
                    existed = host.is_dir() and not host.is_symlink()
                if not existed:  # made by the copy: the source's metadata; else kept
                    self._put(name, match.host, st)
                self._tree(match.host, name)
            else:
                if request.excludes and self._excluded(os.path.basename(match.path)):
                    continue
                self._put(self._target(where), match.host, st)

    def parents(self) -> None:
        """The directories above every entry: kept (their own metadata) or made (0755)."""
        for name in list(self.entries):
            parts = name.split("/")
            for i in range(1, len(parts)):
                parent = "/".join(parts[:i])
                if parent in self.entries:
                    continue
                try:
                    st = os.lstat(self.view / parent)
                except FileNotFoundError:
                    st = None
                if st is not None and stat.S_ISDIR(st.st_mode):
                    self.entries[parent] = _Entry(
                        self.view / parent,
                        st,
                        stat.S_IMODE(st.st_mode),
                        (st.st_uid, st.st_gid),
                        st.st_mtime_ns // 1_000_000_000,
                    )
                else:
                    self.entries[parent] = _Entry(None, None, 0o755, self.parent_owner, self.now)


def write_copy_layer(
    view: Path,
    source_root: Path,
    request: CopyRequest,
    out: BinaryIO,
    *,
    clamp_mtime: int | None = None,
) -> int:
    """Write the layer tar of ``request`` (sources under ``source_root``) on top of the root
    filesystem ``view`` into ``out``; returns how many entries it has (0: an empty layer).

    Raises :class:`Uncovered` for a request only the copying path handles.
    """
    planner = _Planner(view, request, int(time.time()))
    planner.plan(source_root)
    planner.parents()
    with LayerTarWriter(out, clamp_mtime=clamp_mtime) as writer:
        for name in sorted(planner.entries, key=_key):
            e = planner.entries[name]
            if e.st is None or e.path is None:
                uid, gid = e.owner
                writer.directory(name, mode=e.mode, uid=uid, gid=gid, mtime=e.mtime)
                continue
            writer.add(name, e.path, e.st, owner=e.owner, mode=e.mode, xattrs=None)
    return len(planner.entries)
