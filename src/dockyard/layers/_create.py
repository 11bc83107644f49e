"""Layer tars from directories: deterministic, PAX, every bit of metadata a layer can carry.

Determinism: entries come depth-first in byte order of their names (a directory before its
contents), owners are numeric only (no user/group names, which depend on the host), mtimes are
whole seconds (as Docker and containerd write them) and may be clamped, atime/ctime are not
recorded, and the PAX records are always written in the same order. So the same tree gives the
same bytes, and so the same diff_id, on every machine.
"""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from dockyard.errors import InvalidArgument
from dockyard.layers._compression import CHUNK_SIZE
from dockyard.layers._entries import OPAQUE_MARKER, WHITEOUT_PREFIX, read_xattrs, xattrs_to_pax

__all__ = ["LayerTarWriter", "sorted_names", "tar_directory", "walk_tree"]


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


class LayerTarWriter:
    """Writes layer entries as a PAX tar into ``out`` (which is not closed)."""

    def __init__(self, out: BinaryIO, *, clamp_mtime: int | None = None) -> None:
        self._tar = tarfile.open(  # noqa: SIM115 - closed by close()/__exit__
            fileobj=out,
            mode="w|",
            format=tarfile.PAX_FORMAT,
            encoding="utf-8",
            errors="surrogateescape",
            bufsize=CHUNK_SIZE,
        )
        self._clamp = clamp_mtime
        self._inodes: dict[tuple[int, int], str] = {}

    def _mtime(self, st: os.stat_result) -> int:
        seconds = st.st_mtime_ns // 1_000_000_000
        if self._clamp is not None and seconds > self._clamp:
            return self._clamp
        return seconds

    def add(self, arcname: str, path: Path, st: os.stat_result) -> None:
        """Add ``path`` (already ``lstat``-ed as ``st``) under ``arcname``; sockets are skipped."""
        info = tarfile.TarInfo(arcname)
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid = st.st_uid, st.st_gid
        info.uname = info.gname = ""
        info.mtime = self._mtime(st)
        mode = st.st_mode
        if stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            first = self._inodes.get(key) if st.st_nlink > 1 else None
            if first is not None:
                info.type = tarfile.LNKTYPE
                info.linkname = first
                self._tar.addfile(info)
                return
            if st.st_nlink > 1:
                self._inodes[key] = arcname
            info.type = tarfile.REGTYPE
            info.size = st.st_size
        elif stat.S_ISDIR(mode):
            info.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(mode):
            info.type = tarfile.SYMTYPE
            info.linkname = os.readlink(path)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        elif stat.S_ISFIFO(mode):
            info.type = tarfile.FIFOTYPE
        else:
            return  # sockets (and anything else) cannot be carried in a tar
        info.pax_headers = xattrs_to_pax(read_xattrs(path))
        if info.type != tarfile.REGTYPE:
            self._tar.addfile(info)
            return
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as f:
            self._tar.addfile(info, f)

    def whiteout(self, arcname: str, mtime: int) -> None:
        """Add an empty marker file (a whiteout or the opaque marker)."""
        info = tarfile.TarInfo(arcname)
        info.type = tarfile.REGTYPE
        info.mode = 0
        info.uname = info.gname = ""
        info.mtime = mtime if self._clamp is None else min(mtime, self._clamp)
        self._tar.addfile(info)

    def delete(self, parent: str, name: str, mtime: int) -> None:
        """Record that ``parent``/``name`` (``parent`` is ``""`` or ends in ``/``) is gone."""
        self.whiteout(f"{parent}{WHITEOUT_PREFIX}{name}", mtime)

    def opaque(self, parent: str, mtime: int) -> None:
        """Record that directory ``parent`` (ending in ``/``) hides all lower content."""
        self.whiteout(parent + OPAQUE_MARKER, mtime)

    def close(self) -> None:
        self._tar.close()

    def __enter__(self) -> LayerTarWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()


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
