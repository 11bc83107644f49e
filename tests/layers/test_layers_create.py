from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import tarfile
from pathlib import Path

import pytest

from _infra.layer_trees import CAPABILITY, make_rich_tree, snapshot
from dockyard.errors import InvalidArgument
from dockyard.layers import tar_directory

pytestmark = [
    pytest.mark.privileged,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, mknod, caps)"),
]


def _tar(root: Path, **kw: int) -> bytes:
    buf = io.BytesIO()
    tar_directory(root, buf, **kw)
    return buf.getvalue()


def test_same_tree_gives_same_bytes(tmp_path: Path) -> None:
    tree = make_rich_tree(tmp_path / "a")
    first = _tar(tree)
    assert first == _tar(tree)
    copy = tmp_path / "b"
    subprocess.run(["cp", "-a", str(tree), str(copy)], check=True)
    assert _tar(copy) == first  # other inodes, same content: same layer


def test_entries_are_sorted_pax_with_numeric_owners(tmp_path: Path) -> None:
    tree = make_rich_tree(tmp_path / "t")
    with tarfile.open(fileobj=io.BytesIO(_tar(tree))) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names[:3] == ["bin", "bin/absolute-link", "bin/ping"]
    for i, name in enumerate(names):  # every directory comes before what is in it
        parent = name.rpartition("/")[0]
        assert not parent or parent in names[:i]
    assert all(m.uname == "" and m.gname == "" for m in members)
    by_name = {m.name: m for m in members}
    assert by_name["bin/su"].mode == 0o4755
    assert by_name["tmp"].mode == 0o1777
    assert by_name["home/user"].mode == 0o2750
    assert (by_name["home/user"].uid, by_name["home/user"].gid) == (1000, 1000)
    assert by_name["bin/su-hardlink"].islnk()
    assert by_name["bin/su-hardlink"].linkname == "bin/su"
    assert by_name["bin/absolute-link"].linkname == "/etc/hostname"
    assert by_name["null"].ischr() and (by_name["null"].devmajor, by_name["null"].devminor) == (
        1,
        3,
    )
    assert by_name["fifo"].isfifo()
    assert by_name["empty"].isdir()
    ping = by_name["bin/ping"].pax_headers["SCHILY.xattr.security.capability"]
    assert ping.encode("utf-8", "surrogateescape") == CAPABILITY
    assert by_name["etc/hostname"].mtime == 1_600_000_002


def test_gnu_tar_lists_and_extracts_our_tar(tmp_path: Path) -> None:
    tree = make_rich_tree(tmp_path / "t")
    layer = tmp_path / "layer.tar"
    layer.write_bytes(_tar(tree))
    listing = subprocess.run(
        ["tar", "-tvf", str(layer)], capture_output=True, text=True, check=True
    ).stdout
    assert "bin/su-hardlink link to bin/su" in listing
    assert "ünïcödé-名前.txt" in listing
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(
        [
            "tar",
            "--xattrs",
            "--xattrs-include=*",
            "--same-owner",
            "-xpf",
            str(layer),
            "-C",
            str(out),
        ],
        check=True,
    )
    assert snapshot(out, dir_mtimes=False) == snapshot(tree, dir_mtimes=False)


def test_clamp_mtime(tmp_path: Path) -> None:
    tree = make_rich_tree(tmp_path / "t")
    with tarfile.open(fileobj=io.BytesIO(_tar(tree, clamp_mtime=1_000))) as tar:
        assert {m.mtime for m in tar.getmembers()} == {1_000}


def test_sockets_are_skipped(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "file").write_text("x")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tree / "sock"))
        with tarfile.open(fileobj=io.BytesIO(_tar(tree))) as tar:
            assert tar.getnames() == ["file"]


def test_whiteout_names_cannot_be_tarred(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / ".wh.x").touch()
    with pytest.raises(InvalidArgument, match="reserved for whiteouts"):
        _tar(tree)


def test_not_a_directory(tmp_path: Path) -> None:
    (tmp_path / "f").touch()
    with pytest.raises(InvalidArgument, match="not a directory"):
        _tar(tmp_path / "f")
    shutil.rmtree(tmp_path / "f", ignore_errors=True)
