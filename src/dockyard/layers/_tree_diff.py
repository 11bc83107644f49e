"""The two-tree differ: the layer that turns one directory tree into another (an OCI changeset
with whiteouts). The builder uses it where snapshots are plain copies (no overlayfs); with
overlayfs the upper directory already is the change set, and :mod:`._overlay_diff` reads it.

Two trees are walked together, in the same order as :func:`tar_directory`:

* a path only in ``upper`` is added (a new directory with everything under it);
* a path only in ``lower`` becomes a ``.wh.<name>`` whiteout;
* a directory whose lower entries are *all* gone while it has new ones (it was replaced) gets
  one ``.wh..wh..opq`` marker instead of a whiteout per old entry, and its content is added;
* a path in both is added again when its type, mode, owner, xattrs, link target, device, or
  (non-directories) mtime/size differ; when the mtime has no sub-second part the file system may
  have rounded it, so equal-looking regular files are compared byte for byte;
* the parent directories of every entry are written too (with their metadata), so applying the
  layer restores them, as Docker and containerd do.

Hardlinks are kept between entries of the layer; a new link to an unchanged file is written as
a copy of its content.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from dockyard.errors import InvalidArgument
from dockyard.layers._create import sorted_names, walk_tree
from dockyard.layers._entries import read_xattrs
from dockyard.layers._tar_writer import DeferredDirs, LayerTarWriter

__all__ = ["tar_diff"]


def _same(lower: Path, lst: os.stat_result, upper: Path, ust: os.stat_result) -> bool:
    if (lst.st_mode, lst.st_uid, lst.st_gid) != (ust.st_mode, ust.st_uid, ust.st_gid):
        return False
    if read_xattrs(lower) != read_xattrs(upper):
        return False
    mode = ust.st_mode
    if stat.S_ISDIR(mode):
        return True  # a directory's own mtime changes with its entries; those are compared
    if lst.st_mtime_ns != ust.st_mtime_ns:
        return False
    if stat.S_ISLNK(mode):
        return os.readlink(lower) == os.readlink(upper)
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return lst.st_rdev == ust.st_rdev
    if stat.S_ISREG(mode):
        if lst.st_size != ust.st_size:
            return False
        if ust.st_mtime_ns % 1_000_000_000 == 0:
            import filecmp  # only for files whose size and mtime match

            return filecmp.cmp(lower, upper, shallow=False)
    return True


class _Differ:
    def __init__(self, lower: Path, upper: Path, writer: LayerTarWriter) -> None:
        self._lower = lower
        self._upper = upper
        self._writer = writer
        self._parents = DeferredDirs(writer)

    def _add(self, arcname: str, path: Path, st: os.stat_result) -> None:
        self._parents.flush()
        self._writer.add(arcname, path, st)

    def _add_tree(self, arcname: str, path: Path, st: os.stat_result) -> None:
        self._add(arcname, path, st)
        if stat.S_ISDIR(st.st_mode):
            for rel, sub, sub_st in walk_tree(self._upper, arcname + "/"):
                self._writer.add(rel, sub, sub_st)

    def walk(self, prefix: str, dir_mtime: int) -> None:
        """Compare the directory ``prefix`` (``""`` or ending in ``/``), present in both trees."""
        names = sorted_names(self._upper / prefix)
        lower_names = set(os.listdir(self._lower / prefix))
        shared = lower_names.intersection(names)
        replaced = bool(lower_names) and bool(names) and not shared
        if replaced:
            self._parents.flush()
            self._writer.opaque(prefix, dir_mtime)
        else:
            for gone in sorted(lower_names - shared, key=os.fsencode):
                self._parents.flush()
                self._writer.delete(prefix, gone, dir_mtime)
        for name in names:
            arcname = prefix + name
            upper = self._upper / arcname
            ust = os.lstat(upper)
            if name not in shared:
                self._add_tree(arcname, upper, ust)
                continue
            lower = self._lower / arcname
            lst = os.lstat(lower)
            both_dirs = stat.S_ISDIR(lst.st_mode) and stat.S_ISDIR(ust.st_mode)
            if not both_dirs:
                if not _same(lower, lst, upper, ust):
                    self._add_tree(arcname, upper, ust)
                continue
            self._parents.push(arcname, upper, ust)
            if not _same(lower, lst, upper, ust):
                self._parents.flush()
            self.walk(arcname + "/", ust.st_mtime_ns // 1_000_000_000)
            self._parents.pop()


def tar_diff(lower: Path, upper: Path, out: BinaryIO, *, clamp_mtime: int | None = None) -> None:
    """Write to ``out`` the layer that, applied on ``lower``, gives ``upper``.

    Both are plain directory trees (for example a snapshot before and after a build step).
    Output is deterministic like :func:`tar_directory`'s; ``clamp_mtime`` caps every mtime.
    """
    for what, path in (("lower", lower), ("upper", upper)):
        if not path.is_dir():
            raise InvalidArgument(f"cannot diff: {what} tree {path} is not a directory")
    with LayerTarWriter(out, clamp_mtime=clamp_mtime) as writer:
        _Differ(lower, upper, writer).walk("", os.lstat(upper).st_mtime_ns // 1_000_000_000)
