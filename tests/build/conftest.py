"""Fixtures for the builder tests: a busybox base image in a fresh dockyard store."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _infra import make_busybox_rootfs, run_dockyard, tar_rootfs  # noqa: E402


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("busybox-rootfs")
    return tar_rootfs(make_busybox_rootfs(work / "rootfs"), work / "busybox.tar")


@pytest.fixture
def dy_busybox(dockyard_root: Path, busybox_tar: Path) -> str:
    """``busybox:test`` imported into the test's dockyard store; returns its name."""
    run_dockyard("import", busybox_tar, "busybox:test", root=dockyard_root)
    return "busybox:test"
