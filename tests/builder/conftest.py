"""Fixtures for the builder tests: a busybox base image in a fresh dockyard store."""

from __future__ import annotations

from pathlib import Path

import pytest

from _infra import make_busybox_rootfs, run_dockyard, tar_rootfs


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("busybox-rootfs")
    return tar_rootfs(make_busybox_rootfs(work / "rootfs"), work / "busybox.tar")


@pytest.fixture
def dy_busybox(dockyard_root: Path, busybox_tar: Path) -> str:
    """``busybox:test`` imported into the test's dockyard store; returns its name."""
    run_dockyard("import", busybox_tar, "busybox:test", root=dockyard_root)
    return "busybox:test"
