"""The overlay differ: the layer of an overlayfs upper directory, whose overlay whiteouts become
OCI whiteouts. (Plain trees, without overlayfs, go through the two-tree differ, :mod:`._tree_diff`.)

overlayfs records a deletion as a character device 0/0 and a directory that replaces a lower one
as a directory with ``trusted.overlay.opaque=y``; a layer says ``.wh.<name>`` and
``.wh..wh..opq``. Directories that overlay copied up only because something below them changed
are written as parents of that change and are left out otherwise (their metadata is compared
with the lower directory), like containerd's and BuildKit's overlay differs. The output is
deterministic like :func:`~._create.tar_directory`'s: byte-ordered names, clamped mtimes.

Whiteouts are written as BuildKit writes them (mode 0, root-owned), or with ``docker=True`` as
``docker commit`` writes them: ``.wh.<name>`` with mode 0600 and the owner of overlay's
whiteout, ``.wh..wh..opq`` with the permission bits and owner of its directory.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from dockyard.layers._entries import OPAQUE_MARKER, WHITEOUT_PREFIX, read_xattrs
from dockyard.layers._tar_writer import REG, DeferredDirs, LayerTarWriter

__all__ = ["is_overlay_whiteout", "tar_overlay_diff"]

_OPAQUE_XATTR = "trusted.overlay.opaque"


def is_overlay_whiteout(st: os.stat_result) -> bool:
    """Whether ``st`` is overlayfs's record of a deletion (a 0/0 character device)."""
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: Path) -> bool:
    with contextlib.suppress(OSError):
        return os.getxattr(path, _OPAQUE_XATTR, follow_symlinks=False) == b"y"
    return False


def _lower_stat(lowers: Sequence[Path], rel: str) -> os.stat_result | None:
    for lower in lowers:
        try:
            st = os.lstat(lower / rel)
        except (FileNotFoundError, NotADirectoryError):
            continue
        return None if is_overlay_whiteout(st) else st
    return None


class _UpperWalker:
    def __init__(
        self, upper: Path, lowers: Sequence[Path], writer: LayerTarWriter, *, docker: bool = False
    ) -> None:
        self._docker = docker
        self._upper = upper
        self._lowers = lowers
        self._writer = writer
        self._parents = DeferredDirs(writer)

    def walk(self, prefix: str, dir_st: os.stat_result, *, new: bool) -> None:
        base = self._upper / prefix
        mtime = dir_st.st_mtime_ns // 1_000_000_000
        for name in sorted(os.listdir(base), key=os.fsencode):
            arcname = prefix + name
            path = base / name
            st = os.lstat(path)
            if is_overlay_whiteout(st):
                self._parents.flush()
                if self._docker:
                    self._marker(prefix + WHITEOUT_PREFIX + name, 0o600, st, mtime)
                else:
                    self._writer.delete(prefix, name, mtime)
                continue
            if not stat.S_ISDIR(st.st_mode):
                self._parents.flush()
                self._writer.add(arcname, path, st)
                continue
            lower = None if new else _lower_stat(self._lowers, arcname)
            fresh = lower is None or not stat.S_ISDIR(lower.st_mode)
            if fresh or _is_opaque(path):
                self._parents.flush()
                self._writer.add(arcname, path, st)
                if not fresh and self._docker:
                    marker = arcname + "/" + OPAQUE_MARKER
                    self._marker(marker, st.st_mode & 0o777, st, st.st_mtime_ns // 1_000_000_000)
                elif not fresh:
                    self._writer.opaque(arcname + "/", st.st_mtime_ns // 1_000_000_000)
                self.walk(arcname + "/", st, new=True)
                continue
            assert lower is not None
            self._parents.push(arcname, path, st)
            changed = (lower.st_mode, lower.st_uid, lower.st_gid) != (
                st.st_mode,
                st.st_uid,
                st.st_gid,
            ) or read_xattrs(path) != _lower_xattrs(self._lowers, arcname)
            if changed:
                self._parents.flush()
            self.walk(arcname + "/", st, new=False)
            self._parents.pop()

    def _marker(self, arcname: str, mode: int, st: os.stat_result, mtime: int) -> None:
        self._writer.entry(arcname, REG, mode=mode, uid=st.st_uid, gid=st.st_gid, mtime=mtime)


def _lower_xattrs(lowers: Sequence[Path], rel: str) -> dict[str, bytes]:
    for lower in lowers:
        if os.path.lexists(lower / rel):
            return read_xattrs(lower / rel)
    return {}


def tar_overlay_diff(
    upper: Path,
    lowers: Sequence[Path],
    out: BinaryIO,
    *,
    clamp_mtime: int | None = None,
    docker: bool = False,
) -> None:
    """Write the layer tar of overlay ``upper`` over ``lowers`` (top-down) into ``out``.

    ``upper`` must come from a mount without redirects or metadata-only copy-ups
    (``redirect_dir=off,metacopy=off``), so that it alone holds every change.
    ``clamp_mtime`` caps every mtime; ``docker`` writes whiteouts as ``docker commit`` does.
    """
    with LayerTarWriter(out, clamp_mtime=clamp_mtime) as writer:
        _UpperWalker(upper, lowers, writer, docker=docker).walk("", os.lstat(upper), new=False)
