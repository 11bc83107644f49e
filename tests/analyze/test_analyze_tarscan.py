"""The layer tar scanner against Python's tarfile: GNU and PAX long names, links, big sizes."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from _infra.analyze_helpers import Member, load_into, write_archive
from dockyard.analyze import analyze_image, open_image, scan_tar
from dockyard.analyze._advice import advise
from dockyard.errors import InvalidArgument
from dockyard.local import LocalStore


def _tar(fmt: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        names = ["a/" + "long-directory-name/" * 8 + "file.txt", "ünïcödé/ファイル", "./dot/x"]
        for i, name in enumerate(names):
            data = bytes(range(256)) * (i + 1)
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), 0o640, 1000 + i, 50
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("a/link-" + "x" * 120)
        link.type, link.linkname = tarfile.SYMTYPE, "target/" + "y" * 120
        tar.addfile(link)
        hard = tarfile.TarInfo("hard")
        hard.type, hard.linkname = tarfile.LNKTYPE, "ünïcödé/ファイル"
        tar.addfile(hard)
        d = tarfile.TarInfo("dir/")
        d.type = tarfile.DIRTYPE
        tar.addfile(d)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_scan_matches_tarfile(fmt: int) -> None:
    if fmt == tarfile.USTAR_FORMAT:
        with pytest.raises(ValueError):
            _tar(fmt)  # long names need GNU or PAX: nothing to compare
        return
    raw = _tar(fmt)
    ours = scan_tar(io.BytesIO(raw), digests=True)
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        theirs = [
            (m.name.removeprefix("./").rstrip("/"), m.size, m.mode, m.uid, m.linkname, m.isdir())
            for m in tar
        ]
    assert [(e.path, e.size, e.mode, e.uid, e.linkname, e.is_dir) for e in ours] == theirs
    assert ours[0].digest is not None and ours[3].digest is None  # files hashed, links not
    seekable = scan_tar(io.BytesIO(raw), seekable=True)
    assert [e.path for e in seekable] == [e.path for e in ours]


def test_corrupt_and_truncated_tars_are_refused() -> None:
    raw = bytearray(_tar(tarfile.PAX_FORMAT))
    with pytest.raises(InvalidArgument, match="truncated"):
        scan_tar(io.BytesIO(bytes(raw[:1500])))
    raw[0:10] = b"garbage!!!"
    raw[257:263] = b"\0" * 6
    with pytest.raises(InvalidArgument, match="checksum"):
        scan_tar(io.BytesIO(bytes(raw)))


LAYERS: list[list[Member]] = [
    [("usr/", "d", b""), ("usr/bin/", "d", b""), ("usr/bin/busybox", "f", b"b" * 1000),
     ("usr/share/doc/pkg/README", "f", b"d" * 2000)],
    [("usr/", "d", b""), ("usr/bin/", "d", b""), ("usr/bin/gcc", "f", b"g" * 3000),
     ("usr/bin/make", "f", b"m" * 500), ("root/.npm/_cacache/blob", "f", b"n" * 1_500_000),
     ("var/lib/apt/lists/deb_Packages", "f", b"p" * 2_000_000),
     ("var/lib/apt/lists/lock", "f", b"")],
]  # fmt: skip


def test_advice_on_build_tools_and_caches(dockyard_root: Path, tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "tools.tar", "crafted/tools:1", LAYERS, ["base", "RUN x"])
    load_into(dockyard_root, archive)
    with LocalStore.open(dockyard_root) as store:
        analysis = analyze_image(open_image(store, "crafted/tools:1"), verify=True)
    advice = {a.code: a for a in advise(analysis)}
    assert advice["build-tools-in-final-image"].paths == ["/usr/bin/gcc", "/usr/bin/make"]
    caches = [a.message for a in advise(analysis) if a.code == "cache-left-in-layer"]
    assert any("apt package lists (1 files)" in m for m in caches), caches
    assert any("npm cache" in m for m in caches), caches
    assert "large-base" not in advice
    assert analysis.layers[1].changes.added_files == 5
