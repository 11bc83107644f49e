"""COPY/ADD/WORKDIR compared with a real `docker build` of the same steps on the same base.

The docker daemon of the test session builds a small Dockerfile; its container filesystem is
exported and compared with what the worker makes from the same context on the same busybox
root: paths, types, modes, owners, link targets, content hashes and the mtimes of copied files.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from _infra import BuiltImage, DockerDaemon, make_busybox_rootfs
from dockyard.builder.worker import SnapshotManager, make_dirs
from dockyard.builder.worker._copy import CopyRequest, copy_into

pytestmark = pytest.mark.docker

EPOCH = 1_600_000_000
CHECKED = ("dst1", "dst2", "dst3", "dst4", "glob", "owned", "num", "modes", "unpacked", "made")

#: (sources, dest, options) per COPY/ADD step; WORKDIR steps are ("WORKDIR", path).
STEPS: list[tuple[object, ...]] = [
    (("a.txt",), "/dst1/", {}),
    (("a.txt",), "/dst2", {}),
    (("dir",), "/dst3", {}),
    (("dir/",), "/dst4/sub/deeper/", {}),
    (("*.txt",), "/glob/", {}),
    (("dir", "a.txt"), "/owned/", {"chown": "daemon:daemon"}),
    (("a.txt",), "/num/a.txt", {"chown": "1234"}),
    (("script.sh",), "/modes/", {}),  # --chmod needs BuildKit; tested without docker
    (("archive.tar.gz",), "/unpacked/", {"add": True}),
    ("WORKDIR", "/made/by/workdir"),
    (("a.txt", "dir/sub"), "rel/", {}),
]


def make_context(root: Path) -> Path:
    (root / "dir" / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha\n")
    (root / "b.txt").write_text("beta\n")
    (root / "script.sh").write_text("#!/bin/sh\necho hi\n")
    os.chmod(root / "script.sh", 0o755)
    (root / "dir" / "sub" / "deep.txt").write_text("deep\n")
    (root / "dir" / "c.md").write_text("# c\n")
    os.chmod(root / "dir" / "sub", 0o750)
    os.symlink("sub/deep.txt", root / "dir" / "link")
    (root / "dir" / "hard1").write_text("hard\n")
    os.link(root / "dir" / "hard1", root / "dir" / "hard2")
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w:gz") as tar:
        for name, data, mode in (("x/y.txt", b"inside\n", 0o640), ("x/z.sh", b"z\n", 0o755)):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime, info.uid, info.gid = len(data), mode, EPOCH, 7, 8
            tar.addfile(info, io.BytesIO(data))
    (root / "archive.tar.gz").write_bytes(payload.getvalue())
    for dirpath, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            os.utime(Path(dirpath) / name, (EPOCH, EPOCH), follow_symlinks=False)
    return root


def dockerfile(base: str) -> str:
    lines = [f"FROM {base}"]
    for step in STEPS:
        if step[0] == "WORKDIR":
            lines.append(f"WORKDIR {step[1]}")
            continue
        sources, dest, opts = step
        assert isinstance(sources, tuple) and isinstance(opts, dict)
        flags = "".join(f" --{k}={v}" for k, v in opts.items() if k != "add")
        lines.append(f"{'ADD' if opts.get('add') else 'COPY'}{flags} {' '.join(sources)} {dest}")
    return "\n".join(lines) + "\n"


Entry = tuple[str, int, int, int, str, float | None]


def _tree_from_tar(data: bytes) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        by_name = {m.name.rstrip("/"): m for m in members}
        for m in members:
            name = m.name.rstrip("/")
            if name.split("/")[0] not in CHECKED:
                continue
            target = m
            if m.islnk():
                target = by_name[m.linkname.rstrip("/")]
            if target.isreg():
                f = tar.extractfile(target)
                assert f is not None
                kind, extra, mtime = "file", hashlib.sha256(f.read()).hexdigest(), m.mtime
            elif m.isdir():
                kind, extra, mtime = "dir", "", None
            elif m.issym():
                kind, extra, mtime = "link", m.linkname, m.mtime
            else:
                kind, extra, mtime = "other", "", None
            out[name] = (kind, m.mode & 0o7777, m.uid, m.gid, extra, mtime)
    return out


def _tree_from_dir(root: Path) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    for top in CHECKED:
        if not os.path.lexists(root / top):
            continue
        paths = [root / top, *sorted((root / top).rglob("*"))]
        for path in paths:
            st = os.lstat(path)
            name = str(path.relative_to(root))
            mode = st.st_mode
            mtime: int | None = int(st.st_mtime)
            if stat.S_ISREG(mode):
                kind, extra = "file", hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISDIR(mode):
                kind, extra, mtime = "dir", "", None
            elif stat.S_ISLNK(mode):
                kind, extra = "link", os.readlink(path)
            else:
                kind, extra, mtime = "other", "", None
            out[name] = (kind, stat.S_IMODE(mode), st.st_uid, st.st_gid, extra, mtime)
    return out


def test_copy_matches_docker_build(
    dockerd: DockerDaemon, busybox_image: BuiltImage, tmp_path: Path
) -> None:
    context = make_context(tmp_path / "context")
    (tmp_path / "Dockerfile").write_text(dockerfile(busybox_image.ref))
    tag = f"dockyard-test/worker-copy:{os.getpid()}"
    dockerd.run(
        "build", "--network", "none", "--pull=false", "-q", "-t", tag,
        "-f", str(tmp_path / "Dockerfile"), str(context),
    )  # fmt: skip
    cid = dockerd.run("create", tag).stdout.strip()
    try:
        out = tmp_path / "export.tar"
        dockerd.run("export", "-o", str(out), cid)
        exported = out.read_bytes()
    finally:
        dockerd.run("rm", cid)
        dockerd.run("rmi", tag)
    expected = _tree_from_tar(exported)

    mgr = SnapshotManager(tmp_path / "build")
    with mgr.writable(mgr.scratch()) as work:
        make_busybox_rootfs(work.root)
        cwd = "/"
        for step in STEPS:
            if step[0] == "WORKDIR":
                cwd = str(step[1])
                make_dirs(work.root, cwd)
                continue
            sources, dest, opts = step
            assert isinstance(sources, tuple) and isinstance(dest, str) and isinstance(opts, dict)
            request = CopyRequest(
                sources=sources,
                dest=dest,
                cwd=cwd,
                chown=opts.get("chown"),
                chmod=opts.get("chmod"),
                unpack_archives=bool(opts.get("add")),
            )
            copy_into(context, work.root, request)
        actual = _tree_from_dir(work.root)
    assert len(expected) > 30 and {k.split("/")[0] for k in expected} == set(CHECKED)
    assert sorted(actual) == sorted(expected)
    diffs = {k: (actual[k], expected[k]) for k in expected if actual[k] != expected[k]}
    assert diffs == {}
