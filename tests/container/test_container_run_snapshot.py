"""``dockyard run`` of an image whose snapshot exists reads the tag, manifest and config as
files (``dockyard.container._quick``) and does not open the store; every other case goes the
full way over the local store, which gives the errors. Real crun, real overlay mounts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from _infra import make_busybox_rootfs, tar_rootfs
from _infra._cli import run_dockyard
from dockyard.container import RunOptions, run_snapshot
from dockyard.container._quick import snapshot_image
from dockyard.local import LocalStore
from dockyard.reference import Reference

pytestmark = pytest.mark.privileged


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with ``snap:1`` and ``snap-bad:1`` (busybox, the second with one more file),
    neither run yet."""
    work = tmp_path_factory.mktemp("snap")
    rootfs = make_busybox_rootfs(work / "rootfs")
    store = work / "store"
    run_dockyard("import", tar_rootfs(rootfs, work / "a.tar"), "snap:1", root=store)
    (rootfs / "marker").write_text("second image\n")
    run_dockyard("import", tar_rootfs(rootfs, work / "b.tar"), "snap-bad:1", root=store)
    return store


def _manifest(root: Path, name: str) -> str:
    with LocalStore.open(root) as store:
        return str(store.resolve(Reference.parse(name)).digest)


def test_the_first_run_makes_the_snapshot_the_next_reads_files(root: Path) -> None:
    assert snapshot_image(root, "snap:1") is None  # no snapshot yet: the full path
    first = run_dockyard("run", "--rm", "snap:1", "sh", "-c", "echo first", root=root)
    assert first.stdout == "first\n"
    found = snapshot_image(root, "docker.io/library/snap:1")
    assert found is not None
    assert found.manifest_digest == _manifest(root, "snap:1")
    assert found.config["rootfs"]["type"] == "layers"
    options = RunOptions(image="snap:1", command=("sh", "-c", "exit 5"), remove=True)
    assert run_snapshot(root, options) == 5
    assert not any(p for p in (root / "containers").iterdir() if not p.name.startswith("."))


@pytest.mark.parametrize(
    "name",
    [
        "snap",  # :latest, which is not tagged
        "nosuch:1",
        "snap@sha256:" + "0" * 64,  # digest references take the full path
        "Not A Reference",
    ],
)
def test_other_names_take_the_full_path(root: Path, name: str) -> None:
    run_dockyard("run", "--rm", "snap:1", "true", root=root)  # snap:1 has its snapshot
    assert snapshot_image(root, name) is None


def test_a_directory_without_a_store_takes_the_full_path(tmp_path: Path) -> None:
    assert snapshot_image(tmp_path, "snap:1") is None
    assert not (tmp_path / "dockyard.db").exists()  # nothing created by the look-up


def test_a_damaged_config_falls_back_to_the_full_paths_error(root: Path) -> None:
    run_dockyard("run", "--rm", "snap-bad:1", "true", root=root)
    found = snapshot_image(root, "snap-bad:1")
    assert found is not None
    blob = root / "blobs" / "sha256" / found.config_digest.removeprefix("sha256:")
    os.chmod(blob, 0o644)
    blob.write_bytes(blob.read_bytes().replace(b'"layers"', b'"LAYERS"'))
    assert snapshot_image(root, "snap-bad:1") is None
    failed = run_dockyard("run", "--rm", "snap-bad:1", "true", root=root, check=False)
    assert failed.returncode == 125
    assert found.config_digest.removeprefix("sha256:")[:12] in failed.stderr, failed.stderr
