"""The fast layer tar writer writes exactly the bytes of dockyard.layers.LayerTarWriter."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from dockyard.builder.worker._tar import TarWriter
from dockyard.layers import LayerTarWriter
from dockyard.layers._create import walk_tree


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
    writer_class: type[LayerTarWriter] | type[TarWriter], root: Path, clamp: int | None
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
    expected = _write(LayerTarWriter, tmp_path, clamp)
    got = _write(TarWriter, tmp_path, clamp)
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
