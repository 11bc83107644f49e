"""Fixtures for the scan tests: the vulnerability test data, a Debian image, a Python env image."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra import run_dockyard
from _infra._debian import debian_rootfs_tarball
from _infra.scan_env import SITE, VULNDB, TestImage
from _infra.scan_pyenv import python_site_packages


@pytest.fixture(scope="session")
def vulndb() -> Path:
    if not (VULNDB / "osv" / "PyPI").is_dir():
        pytest.fail(
            f"the vulnerability test data is missing: expected {VULNDB} (the shared testdata "
            "checkout next to the repository, with osv/, debian/ and alpine/ inside)"
        )
    return VULNDB.resolve()


@pytest.fixture(scope="session")
def session_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scan-store")


@pytest.fixture(scope="session")
def debian_image(session_store: Path, tmp_path_factory: pytest.TempPathFactory) -> TestImage:
    """``debootstrap --variant=minbase bookworm`` imported into a store, plus its dpkg db dir."""
    tarball = debian_rootfs_tarball()
    run_dockyard("import", tarball, "debian-minbase:bookworm", root=session_store)
    rootfs = tmp_path_factory.mktemp("debian-dpkg")
    subprocess.run(
        [
            "tar",
            "-xf",
            str(tarball),
            "-C",
            str(rootfs),
            "./var/lib/dpkg",
            "./etc/os-release",
            "./usr/lib/os-release",
        ],
        check=True,
        capture_output=True,
    )
    return TestImage(session_store, "debian-minbase:bookworm", tarball, rootfs)


@pytest.fixture(scope="session")
def python_image(session_store: Path, tmp_path_factory: pytest.TempPathFactory) -> TestImage:
    """A root filesystem whose only content is a pip-installed site-packages, imported."""
    rootfs = tmp_path_factory.mktemp("pyenv-rootfs")
    shutil.copytree(python_site_packages(), rootfs / SITE, symlinks=True)
    run_dockyard("import", rootfs, "pyenv:old", root=session_store)
    return TestImage(session_store, "pyenv:old", rootfs=rootfs)


@pytest.fixture
def scan_root(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "store"
    root.mkdir()
    yield root
