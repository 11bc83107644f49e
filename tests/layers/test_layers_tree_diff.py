from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from _infra.layer_trees import make_rich_tree, snapshot
from dockyard.errors import InvalidArgument
from dockyard.layers import apply_layer, tar_diff

pytestmark = [
    pytest.mark.privileged,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, mknod, caps)"),
]


def _copy(src: Path, dst: Path) -> Path:
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True)
    return dst


def _diff(lower: Path, upper: Path) -> bytes:
    buf = io.BytesIO()
    tar_diff(lower, upper, buf)
    return buf.getvalue()


def _names(layer: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        return tar.getnames()


def _check_applies(lower: Path, upper: Path, layer: bytes, tmp_path: Path) -> None:
    target = _copy(lower, tmp_path / "applied")
    apply_layer(io.BytesIO(layer), target)
    assert snapshot(target, dir_mtimes=False) == snapshot(upper, dir_mtimes=False)


def test_identical_trees_give_an_empty_layer(tmp_path: Path) -> None:
    lower = make_rich_tree(tmp_path / "lower")
    upper = _copy(lower, tmp_path / "upper")
    assert _names(_diff(lower, upper)) == []


def test_changes_deletions_and_replaced_directories(tmp_path: Path) -> None:
    lower = make_rich_tree(tmp_path / "lower")
    (lower / "etc" / "conf.d").mkdir()
    for name in ("a.conf", "b.conf"):
        (lower / "etc" / "conf.d" / name).write_text(name)
    upper = _copy(lower, tmp_path / "upper")
    (upper / "etc" / "hostname").write_text("changed\n")  # modified
    (upper / "home" / "user" / "notes").unlink()  # deleted file
    shutil.rmtree(upper / "d")  # deleted tree
    os.chmod(upper / "empty", 0o700)  # metadata only
    (upper / "new-dir" / "deep").mkdir(parents=True)  # added tree
    (upper / "new-dir" / "deep" / "file").write_text("new")
    os.link(upper / "new-dir" / "deep" / "file", upper / "new-dir" / "link")
    shutil.rmtree(upper / "etc" / "conf.d")  # replaced directory: opaque
    (upper / "etc" / "conf.d").mkdir()
    (upper / "etc" / "conf.d" / "c.conf").write_text("c")
    os.unlink(upper / "fifo")  # type changes
    (upper / "fifo").mkdir()
    shutil.rmtree(upper / "tmp")
    (upper / "tmp").write_text("now a file")
    os.setxattr(upper / "bin" / "ping", "user.added", b"1")  # xattr change
    layer = _diff(lower, upper)
    assert _names(layer) == [  # whiteouts come before the other entries of their directory
        ".wh.d",
        "bin",
        "bin/ping",
        "empty",
        "etc",
        "etc/conf.d",
        "etc/conf.d/.wh..wh..opq",
        "etc/conf.d/c.conf",
        "etc/hostname",
        "fifo",
        "home",
        "home/user",
        "home/user/.wh.notes",
        "new-dir",
        "new-dir/deep",
        "new-dir/deep/file",
        "new-dir/link",
        "tmp",
    ]
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        assert tar.getmember("new-dir/link").islnk()
    assert layer == _diff(lower, upper)  # deterministic
    _check_applies(lower, upper, layer, tmp_path)


def test_same_size_same_second_content_change_is_seen(tmp_path: Path) -> None:
    lower = tmp_path / "lower"
    lower.mkdir()
    (lower / "f").write_text("aaaa")
    os.utime(lower / "f", (1_600_000_000, 1_600_000_000))
    upper = _copy(lower, tmp_path / "upper")
    (upper / "f").write_text("bbbb")
    os.utime(upper / "f", (1_600_000_000, 1_600_000_000))
    assert _names(_diff(lower, upper)) == ["f"]


def test_emptied_directory_uses_whiteouts(tmp_path: Path) -> None:
    lower = tmp_path / "lower"
    (lower / "dir").mkdir(parents=True)
    (lower / "dir" / "only").touch()
    upper = _copy(lower, tmp_path / "upper")
    (upper / "dir" / "only").unlink()
    layer = _diff(lower, upper)
    assert _names(layer) == ["dir", "dir/.wh.only"]
    _check_applies(lower, upper, layer, tmp_path)


def test_not_directories(tmp_path: Path) -> None:
    (tmp_path / "f").touch()
    with pytest.raises(InvalidArgument, match="upper tree"):
        tar_diff(tmp_path, tmp_path / "f", io.BytesIO())
