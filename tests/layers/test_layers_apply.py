from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from _infra.layer_trees import dir_, link, make_rich_tree, reg, snapshot, special, tar_bytes
from dockyard.digest import digest_of
from dockyard.errors import DigestInvalid, InvalidArgument, UnsafeLayer
from dockyard.layers import Compression, apply_layer, compressor, tar_directory

pytestmark = [
    pytest.mark.privileged,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, mknod, caps)"),
]


def _layer(tree: Path, kind: Compression | None = None) -> bytes:
    plain = io.BytesIO()
    tar_directory(tree, plain)
    return _pack(plain.getvalue(), kind)


def _pack(data: bytes, kind: Compression | None) -> bytes:
    buf = io.BytesIO()
    with compressor(kind, buf) as out:
        out.write(data)
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["gzip", "zstd", None])
def test_round_trip_restores_everything(tmp_path: Path, kind: Compression | None) -> None:
    tree = make_rich_tree(tmp_path / "src")
    target = tmp_path / "dst"
    stats = apply_layer(io.BytesIO(_layer(tree, kind)), target)
    assert snapshot(target) == snapshot(tree)
    assert os.stat(target / "bin" / "su").st_ino == os.stat(target / "bin" / "su-hardlink").st_ino
    assert (stats.files, stats.hardlinks, stats.symlinks, stats.special) == (9, 1, 2, 2)
    assert stats.diff_id == digest_of(_layer(tree))
    assert stats.xattrs_skipped == 0


def test_applies_onto_existing_content_replacing_types(tmp_path: Path) -> None:
    target = tmp_path / "dst"
    (target / "was-dir" / "sub").mkdir(parents=True)
    (target / "was-file").write_text("old")
    os.symlink("/etc", target / "was-link")
    (target / "kept").write_text("kept")
    outside = tmp_path / "outside"
    outside.write_text("outside")
    os.link(outside, target / "shared")  # a hardlink to a file outside the root
    layer = tar_bytes(
        reg("was-dir", b"now a file"),
        dir_("was-file"),
        reg("was-file/inner"),
        dir_("was-link"),
        reg("was-link/passwd", b"not the host's"),
        reg("shared", b"replaced, not written through"),
    )
    apply_layer(io.BytesIO(layer), target)
    assert (target / "was-dir").read_text() == "now a file"
    assert (target / "was-file" / "inner").read_bytes() == b"data"
    assert not (target / "was-link").is_symlink()
    assert (target / "was-link" / "passwd").read_bytes() == b"not the host's"
    assert (target / "kept").read_text() == "kept"
    assert outside.read_text() == "outside"
    assert (target / "shared").read_text() == "replaced, not written through"


def test_whiteouts_and_opaque_directories(tmp_path: Path) -> None:
    target = tmp_path / "dst"
    (target / "gone-dir" / "deep").mkdir(parents=True)
    (target / "gone-file").write_text("x")
    (target / "opaque" / "sub").mkdir(parents=True)
    (target / "opaque" / "old").write_text("old")
    (target / "stay").write_text("stay")
    layer = tar_bytes(
        reg(".wh.gone-dir", b""),
        reg(".wh.gone-file", b""),
        reg(".wh.never-existed", b""),
        reg("stay-new", b"new"),
        # an entry before its whiteout in the same layer survives: whiteouts hide lower content
        reg("gone-file", b"recreated"),
        dir_("opaque"),
        reg("opaque/fresh", b"fresh"),
        reg("opaque/.wh..wh..opq", b""),
    )
    stats = apply_layer(io.BytesIO(layer), target)
    assert sorted(p.name for p in target.iterdir()) == ["gone-file", "opaque", "stay", "stay-new"]
    assert (target / "gone-file").read_text() == "recreated"
    assert [p.name for p in (target / "opaque").iterdir()] == ["fresh"]
    assert (stats.whiteouts, stats.removed) == (4, 4)
    assert not list(target.rglob(".wh.*"))


def test_opaque_root_and_aufs_markers(tmp_path: Path) -> None:
    target = tmp_path / "dst"
    (target / "a").mkdir(parents=True)
    layer = tar_bytes(reg(".wh..wh..opq", b""), reg(".wh..wh.plnk", b""), reg("b"))
    apply_layer(io.BytesIO(layer), target)
    assert [p.name for p in target.iterdir()] == ["b"]


def test_read_only_directories_and_directory_mtimes(tmp_path: Path) -> None:
    layer = tar_bytes(dir_("ro", 0o555), reg("ro/a"), dir_("ro/sub", 0o500), reg("ro/sub/b"))
    target = tmp_path / "dst"
    apply_layer(io.BytesIO(layer), target, privileged=False)
    assert os.stat(target / "ro").st_mode & 0o7777 == 0o555
    assert os.stat(target / "ro").st_mtime == 1_600_000_000
    assert (target / "ro" / "sub" / "b").read_bytes() == b"data"


def test_unprivileged_keeps_our_owner(tmp_path: Path) -> None:
    info, data = reg("owned")
    info.uid = info.gid = 1234
    target = tmp_path / "dst"
    apply_layer(io.BytesIO(tar_bytes((info, data))), target, privileged=False)
    assert os.stat(target / "owned").st_uid == os.geteuid()
    apply_layer(io.BytesIO(tar_bytes((info, data))), target)
    assert os.stat(target / "owned").st_uid == 1234


@pytest.mark.parametrize("fmt", ["gnu", "posix"])
def test_layer_from_gnu_tar_applies(tmp_path: Path, fmt: str) -> None:
    tree = make_rich_tree(tmp_path / "src")
    layer = tmp_path / "layer.tar.gz"
    xattrs = ["--xattrs", "--xattrs-include=*"] if fmt == "posix" else []
    subprocess.run(
        ["tar", *xattrs, f"--format={fmt}", "-czpf", str(layer), "-C", str(tree), "."],
        check=True,
    )
    target = tmp_path / "dst"
    with layer.open("rb") as f:
        apply_layer(f, target)
    got, want = snapshot(target, dir_mtimes=False), snapshot(tree, dir_mtimes=False)
    if fmt == "gnu":  # the GNU format has no xattrs
        got = {k: v[:-1] for k, v in got.items()}
        want = {k: v[:-1] for k, v in want.items()}
    assert got == want


def test_expected_diff_id(tmp_path: Path) -> None:
    layer = tar_bytes(reg("a"))
    target = tmp_path / "dst"
    with pytest.raises(DigestInvalid, match="diff_id mismatch"):
        apply_layer(io.BytesIO(layer), target, expected_diff_id=digest_of(b"other"))
    assert not target.exists()
    stats = apply_layer(io.BytesIO(_pack(layer, "zstd")), target, expected_diff_id=digest_of(layer))
    assert stats.size == len(layer)


def test_empty_stream_is_an_empty_layer(tmp_path: Path) -> None:
    stats = apply_layer(io.BytesIO(b""), tmp_path / "dst")
    assert stats.size == 0 and list((tmp_path / "dst").iterdir()) == []


# --- hostile and broken layers: refused, and the target is left exactly as it was --------------


def _hostile_cases() -> dict[str, tuple[bytes, str, str]]:
    """name -> (layer, entry named in the error, words in the error)."""
    device = special("dev/null", tarfile.CHRTYPE)
    return {
        "dotdot": (tar_bytes(reg("../escape")), "../escape", "contains '..'"),
        "dotdot-inside": (tar_bytes(reg("a/../../x")), "a/../../x", "contains '..'"),
        "absolute": (tar_bytes(reg("/etc/evil")), "/etc/evil", "is absolute"),
        "symlink-escape": (
            tar_bytes(dir_("a"), link("a/up", "../../outside")),
            "a/up",
            "points outside the root",
        ),
        "write-through-planted-symlink": (
            tar_bytes(link("planted", "/tmp"), reg("planted/evil")),
            "planted/evil",
            "through the symlink 'planted'",
        ),
        "write-through-relative-planted-symlink": (
            tar_bytes(dir_("d"), link("d/s", ".."), reg("d/s/x")),
            "d/s/x",
            "through the symlink 'd/s'",
        ),
        "write-through-existing-symlink": (
            tar_bytes(reg("fine"), reg("existing-link/evil")),
            "existing-link/evil",
            "through the symlink 'existing-link'",
        ),
        "hardlink-escape": (
            tar_bytes(link("h", "../outside/secret", hard=True)),
            "h",
            "contains '..'",
        ),
        "hardlink-absolute": (
            tar_bytes(link("h", "/etc/passwd", hard=True)),
            "h",
            "is absolute",
        ),
        "hardlink-through-symlink": (
            tar_bytes(link("h", "existing-link/secret", hard=True)),
            "h",
            "through the symlink 'existing-link'",
        ),
        "hardlink-missing": (
            tar_bytes(link("h", "nothing-here", hard=True)),
            "h",
            "does not exist",
        ),
        "hardlink-directory": (tar_bytes(link("h", "sub", hard=True)), "h", "is a directory"),
        "whiteout-through-symlink": (
            tar_bytes(reg("existing-link/.wh.secret", b"")),
            "existing-link/.wh.secret",
            "through the symlink",
        ),
        "opaque-through-symlink": (
            tar_bytes(reg("existing-link/.wh..wh..opq", b"")),
            "existing-link/.wh..wh..opq",
            "through the symlink",
        ),
        "whiteout-dotdot": (tar_bytes(reg("sub/.wh...", b"")), "sub/.wh...", "whiteout of '..'"),
        "parent-is-a-file": (tar_bytes(reg("file/child")), "file/child", "not a directory"),
        "device-unprivileged": (tar_bytes(device), "dev/null", "device node"),
        "bad-entry-last": (
            tar_bytes(reg("ok-1"), dir_("ok-dir"), reg(".wh.file", b""), reg("../late")),
            "../late",
            "contains '..'",
        ),
    }


@pytest.mark.parametrize("case", sorted(_hostile_cases()))
@pytest.mark.parametrize("kind", ["gzip", None])
def test_hostile_layers_are_refused_untouched(
    tmp_path: Path, case: str, kind: Compression | None
) -> None:

    layer, entry, problem = _hostile_cases()[case]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("host secret")
    target = tmp_path / "root" / "dst"
    (target / "sub").mkdir(parents=True)
    (target / "file").write_text("lower")
    os.symlink(str(outside), target / "existing-link")
    before, before_outside = snapshot(target.parent), snapshot(outside)
    with pytest.raises(UnsafeLayer) as info:
        apply_layer(io.BytesIO(_pack(layer, kind)), target, privileged=False)
    assert repr(entry) in str(info.value)
    assert problem in str(info.value)
    assert snapshot(target.parent) == before
    assert snapshot(outside) == before_outside


def test_device_nodes_when_privileged(tmp_path: Path) -> None:
    layer = tar_bytes(special("null", tarfile.CHRTYPE), special("fifo", tarfile.FIFOTYPE))
    apply_layer(io.BytesIO(layer), tmp_path / "dst", privileged=True)
    assert os.stat(tmp_path / "dst" / "null").st_rdev == os.makedev(1, 3)
    # fifos need no privilege
    apply_layer(
        io.BytesIO(tar_bytes(special("f2", tarfile.FIFOTYPE))), tmp_path / "dst", privileged=False
    )


@pytest.mark.parametrize("damage", ["truncated-gzip", "truncated-tar", "garbage"])
def test_broken_streams_leave_target_untouched(tmp_path: Path, damage: str) -> None:
    layer = tar_bytes(reg("a", b"x" * 100_000), reg("b", b"y" * 100_000))
    if damage == "truncated-gzip":
        data = _pack(layer, "gzip")[:-20]
    elif damage == "truncated-tar":
        data = layer[:60_000]
    else:
        data = b"this is not a tar archive at all" * 40
    target = tmp_path / "dst"
    target.mkdir()
    (target / "keep").write_text("keep")
    before = snapshot(target)
    with pytest.raises(InvalidArgument):
        apply_layer(io.BytesIO(data), target)
    assert snapshot(target) == before


def test_entry_order_quirks(tmp_path: Path) -> None:
    layer = tar_bytes(
        reg("a/x"),  # parent created implicitly, its own entry comes later and keeps "x"
        dir_("a", 0o750),
        dir_("b"),
        reg("b/old"),
        reg("b", b"b is a file now"),  # replaces the directory and what was in it
        dir_("b"),
        reg("b/new"),
        dir_("."),  # the root's own entry is ignored
    )
    target = tmp_path / "dst"
    apply_layer(io.BytesIO(layer), target)
    assert [p.name for p in (target / "a").iterdir()] == ["x"]
    assert os.stat(target / "a").st_mode & 0o7777 == 0o750
    assert [p.name for p in (target / "b").iterdir()] == ["new"]
    with pytest.raises(UnsafeLayer, match="not a directory"):
        apply_layer(io.BytesIO(tar_bytes(reg("c"), reg("c/child"))), target)


def test_spool_dir_is_used_and_left_clean(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    apply_layer(io.BytesIO(tar_bytes(reg("a"))), tmp_path / "dst", spool_dir=spool)
    assert (tmp_path / "dst" / "a").read_bytes() == b"data"
    assert list(spool.iterdir()) == []
    with pytest.raises(FileNotFoundError):
        apply_layer(io.BytesIO(b""), tmp_path / "dst", spool_dir=tmp_path / "missing")
