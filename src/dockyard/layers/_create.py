"""Layer tars from whole directories (and the tree walk the two-tree differ shares): deterministic,
PAX (see :mod:`._tar_writer`), every bit of metadata a layer can carry.

Determinism: entries come depth-first in byte order of their names (a directory before its
contents), owners are numeric only (no user/group names, which depend on the host), mtimes are
whole seconds (as Docker and containerd write them) and may be clamped, atime/ctime are not
recorded, and the PAX records are always written in the same order. So the same tree gives the
same bytes, and so the same diff_id, on every machine.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from dockyard.errors import InvalidArgument
from dockyard.layers._entries import WHITEOUT_PREFIX
from dockyard.layers._tar_writer import LayerTarWriter

__all__ = ["sorted_names", "tar_directory", "walk_tree"]


def sorted_names(directory: Path) -> list[str]:
    """The entries of ``directory`` in byte order, refusing names reserved for whiteouts."""
    names = sorted(os.listdir(directory), key=os.fsencode)
    for name in names:
        if name.startswith(WHITEOUT_PREFIX):
            raise InvalidArgument(
                f"cannot put {directory / name} in a layer: names starting with "
                f"{WHITEOUT_PREFIX!r} are reserved for whiteouts; rename or remove it"
            )
    return names


def walk_tree(base: Path, prefix: str = "") -> Iterator[tuple[str, Path, os.stat_result]]:
    """Depth-first ``(archive name, path, lstat)`` below ``base/prefix``, in byte order.

    ``prefix`` is ``""`` or a relative directory name ending in ``/``. Symlinks are not followed.
    """
    stack: list[tuple[str, Iterator[str]]] = [(prefix, iter(sorted_names(base / prefix)))]
    while stack:
        rel_dir, names = stack[-1]
        name = next(names, None)
        if name is None:
            stack.pop()
            continue
        rel = rel_dir + name
        path = base / rel
        st = os.lstat(path)
        yield rel, path, st
        if stat.S_ISDIR(st.st_mode):
            stack.append((rel + "/", iter(sorted_names(path))))


def tar_directory(root: Path, out: BinaryIO, *, clamp_mtime: int | None = None) -> None:
    """Write the contents of ``root`` (not ``root`` itself) to ``out`` as a layer tar.

    Keeps modes (with setuid/setgid/sticky), numeric uid/gid, ``user.*`` and
    ``security.capability`` xattrs, hardlinks, symlinks, devices, fifos and empty directories.
    ``clamp_mtime`` (seconds since the epoch, e.g. ``SOURCE_DATE_EPOCH``) caps every mtime.
    """
    if not root.is_dir():
        raise InvalidArgument(f"cannot make a layer from {root}: it is not a directory")
    with LayerTarWriter(out, clamp_mtime=clamp_mtime) as writer:
        for arcname, path, st in walk_tree(root):
            writer.add(arcname, path, st)
