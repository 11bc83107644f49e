"""The layer tar writer writes exactly the bytes ``tarfile`` writes in PAX mode.

The reference below is the ``tarfile`` writer layers were made with before the direct header
writer existed; equal bytes keep every layer digest (and so every build cache entry and pushed
image) the same.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path
from typing import BinaryIO

import pytest

from dockyard.layers import LayerTarWriter, read_xattrs
from dockyard.layers._create import walk_tree
from dockyard.layers._entries import OPAQUE_MARKER, WHITEOUT_PREFIX, xattrs_to_pax


class TarfileWriter:
    """What :class:`LayerTarWriter` writes, with ``tarfile`` (slow, but the standard's reading)."""

    def __init__(self, out: BinaryIO, *, clamp_mtime: int | None = None) -> None:
        self._tar = tarfile.open(  # noqa: SIM115 - closed by __exit__
            fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, encoding="utf-8",
            errors="surrogateescape",
        )  # fmt: skip
        self._clamp = clamp_mtime
        self._inodes: dict[tuple[int, int], str] = {}

    def _mtime(self, seconds: int) -> int:
        return seconds if self._clamp is None else min(seconds, self._clamp)

    def add(self, arcname: str, path: Path, st: os.stat_result) -> None:
        info = tarfile.TarInfo(arcname)
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid = st.st_uid, st.st_gid
        info.uname = info.gname = ""
        info.mtime = self._mtime(st.st_mtime_ns // 1_000_000_000)
        mode = st.st_mode
        if stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            first = self._inodes.get(key) if st.st_nlink > 1 else None
            if first is not None:
                info.type, info.linkname = tarfile.LNKTYPE, first
                self._tar.addfile(info)
                return
            if st.st_nlink > 1:
                self._inodes[key] = arcname
            info.size = st.st_size
        elif stat.S_ISDIR(mode):
            info.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(mode):
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        elif stat.S_ISFIFO(mode):
            info.type = tarfile.FIFOTYPE
        else:
            return
        info.pax_headers = xattrs_to_pax(read_xattrs(path))
        if info.type != tarfile.REGTYPE:
            self._tar.addfile(info)
            return
        with open(path, "rb") as f:
            self._tar.addfile(info, f)

    def _whiteout(self, arcname: str, mtime: int) -> None:
        info = tarfile.TarInfo(arcname)
        info.mode, info.mtime = 0, self._mtime(mtime)
        info.uname = info.gname = ""
        self._tar.addfile(info)

    def delete(self, parent: str, name: str, mtime: int) -> None:
        self._whiteout(parent + WHITEOUT_PREFIX + name, mtime)

    def opaque(self, parent: str, mtime: int) -> None:
        self._whiteout(parent + OPAQUE_MARKER, mtime)

    def __enter__(self) -> TarfileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._tar.close()


def _tree(root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a").write_text("hi\n")
    os.symlink("a", root / "sym")
    os.link(root / "a", root / "hard")
    os.mkfifo(root / "fifo")
    os.mknod(root / "chr", 0o20644, os.makedev(1, 3))
    (root / ("x" * 150)).write_text("long name")
    (root / "ünï").write_text("unicode name")
    os.symlink("y" * 120, root / "longlink")
    (root / os.fsdecode(b"bad\xff")).write_text("undecodable name")
    os.setxattr(root / "a", "user.foo", b"bar\xff")
    os.chown(root / "sub", 70_000_000, 5)  # too big for the ustar field: a PAX record
    (root / "sub" / "big").write_bytes(os.urandom(1_500_001))
    (root / "sub" / "empty").write_bytes(b"")
    os.chmod(root / "sub" / "deeper", 0o1775)
    os.utime(root / "sub" / "deeper", (99_999_999_999, 99_999_999_999))


def _write(
    writer_class: type[LayerTarWriter] | type[TarfileWriter], root: Path, clamp: int | None
) -> bytes:
    out = io.BytesIO()
    with writer_class(out, clamp_mtime=clamp) as writer:
        for arcname, path, st in walk_tree(root):
            writer.add(arcname, path, st)
        writer.delete("sub/", "gone", 5)
        writer.opaque("sub/deeper/", 7)
    return out.getvalue()


@pytest.mark.parametrize("clamp", [None, 1_000_000])
def test_same_bytes_as_tarfile_writer(tmp_path: Path, clamp: int | None) -> None:
    _tree(tmp_path)
    expected = _write(TarfileWriter, tmp_path, clamp)
    got = _write(LayerTarWriter, tmp_path, clamp)
    assert got == expected
    with tarfile.open(fileobj=io.BytesIO(got)) as tar:
        names = tar.getnames()
        hard = tar.getmember("hard")
        assert hard.islnk() and hard.linkname == "a"
        assert tar.getmember("a").pax_headers["SCHILY.xattr.user.foo"] == "bar\udcff"
        assert tar.getmember("sub").uid == 70_000_000
        big = tar.extractfile("sub/big")
        assert big is not None and big.read() == (tmp_path / "sub" / "big").read_bytes()
    assert "x" * 150 in names and "ünï" in names and "sub/.wh.gone" in names
