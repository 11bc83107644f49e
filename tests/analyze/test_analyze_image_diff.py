"""``dockyard diff`` against what docker itself exports: the file differences between two
images equal the differences between ``docker export`` of a container of each."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from _infra import DockerDaemon, run_dockyard
from _infra.analyze_helpers import SavedImage, load_into

pytestmark = pytest.mark.docker

# paths docker adds to every container, or that only exist as mount points
_RUNTIME = {".dockerenv", "etc/hosts", "etc/hostname", "etc/resolv.conf", "dev", "proc", "sys"}


def _exported(docker: DockerDaemon, ref: str, out: Path) -> dict[str, tuple[str, int, str]]:
    container = docker.run("create", ref).stdout.strip()
    try:
        docker.run("export", "-o", str(out), container)
    finally:
        docker.run("rm", container)
    files: dict[str, tuple[str, int, str]] = {}
    with tarfile.open(out) as tar:
        for member in tar:
            path = member.name.strip("/").removeprefix("./")
            if not path or path.split("/")[0] in _RUNTIME or path in _RUNTIME:
                continue
            if member.isdir():
                files[path] = ("dir", 0, "")
            elif member.issym():
                files[path] = ("symlink", 0, member.linkname)
            elif member.isfile():
                data = tar.extractfile(member)
                assert data is not None
                files[path] = ("file", member.size, hashlib.sha256(data.read()).hexdigest())
            else:
                files[path] = ("other", 0, "")
    return files


def test_diff_matches_docker_export(
    dockerd: DockerDaemon,
    clean_image: SavedImage,
    wasteful_image: SavedImage,
    dockyard_root: Path,
    tmp_path: Path,
) -> None:
    before = _exported(dockerd, clean_image.ref, tmp_path / "a.tar")
    after = _exported(dockerd, wasteful_image.ref, tmp_path / "b.tar")
    expected = {
        "added": {p for p in after.keys() - before.keys()},
        "removed": {p for p in before.keys() - after.keys()},
        # content, size, type or link target: what docker export shows (it drops mode bits on dirs)
        "changed": {
            p
            for p in before.keys() & after.keys()
            if before[p] != after[p] and before[p][0] != "dir"
        },
    }
    load_into(dockyard_root, clean_image.archive)
    load_into(dockyard_root, wasteful_image.archive)
    out = run_dockyard(
        "diff", clean_image.ref, wasteful_image.ref, "--format", "json", root=dockyard_root
    )
    diff = json.loads(out.stdout)
    got: dict[str, set[str]] = {"added": set(), "removed": set(), "changed": set()}
    for change in diff["files"]:
        path = change["path"].lstrip("/")
        if path.split("/")[0] in _RUNTIME:
            continue
        if change["status"] == "changed" and change["what"] in ("mode", "owner"):
            continue
        if change["status"] == "changed" and change["kind"] == "dir":
            continue
        got[change["status"]].add(path)
    assert got == expected
    assert "data/big.bin" not in got["added"]  # added and deleted again: not in the result
    assert "etc/motd" in got["added"] and "app/app.bin" in got["removed"]
    assert diff["layers"] == {"image1": 4, "image2": 8, "shared": 1}
    config = {c["key"]: c for c in diff["config"]}
    assert "created" in config


def test_diff_table_and_config(
    clean_image: SavedImage, wasteful_image: SavedImage, dockyard_root: Path
) -> None:
    load_into(dockyard_root, clean_image.archive)
    load_into(dockyard_root, wasteful_image.archive)
    table = run_dockyard("diff", clean_image.ref, wasteful_image.ref, root=dockyard_root).stdout
    assert "removed" in table and "/app/app.bin" in table and "3MB" in table
    same = run_dockyard("diff", clean_image.ref, clean_image.ref, root=dockyard_root).stdout
    assert "Config: (no differences)" in same and "Files: (no differences)" in same
