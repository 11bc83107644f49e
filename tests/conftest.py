"""Session-wide fixtures: a real dockerd, offline base images, a fresh dockyard store per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra import (
    REUSE_ENV,
    ROOT_ENV,
    BuiltImage,
    DaemonUnavailable,
    DockerDaemon,
    build_busybox_image,
    build_multilayer_image,
    reused_daemon,
    started_daemon,
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the ``dockerd`` fixture, directly or through another fixture, is a
    ``docker`` test, marked or not: ``-m "not docker"`` (``make check``) must never start one.
    tryfirst: the marks are in place before ``-m`` deselects."""
    for item in items:
        if (
            "dockerd" in getattr(item, "fixturenames", ())
            and item.get_closest_marker("docker") is None
        ):
            item.add_marker(pytest.mark.docker)


@pytest.fixture(scope="session")
def dockerd() -> Iterator[DockerDaemon]:
    """A real Docker daemon for the session (or the one at $DOCKYARD_TEST_DOCKER_HOST).

    Use ``dockerd.run("image", "ls")`` to run /usr/bin/docker against it, ``dockerd.env`` for
    other subprocesses, ``dockerd.host`` for the DOCKER_HOST url.
    """
    reuse = os.environ.get(REUSE_ENV)
    problem: str | None = None
    try:
        with reused_daemon(reuse) if reuse else started_daemon() as daemon:
            yield daemon
    except DaemonUnavailable as exc:
        problem = str(exc)
    if problem is not None:  # failed, not skipped: a test that did not run proves nothing
        pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="session")
def busybox_image(dockerd: DockerDaemon, tmp_path_factory: pytest.TempPathFactory) -> BuiltImage:
    """``dockyard-test/busybox:latest``: busybox-static rootfs, ``docker import``ed; (ref, id)."""
    return build_busybox_image(dockerd, tmp_path_factory.mktemp("busybox"))


@pytest.fixture(scope="session")
def multilayer_image(
    dockerd: DockerDaemon, busybox_image: BuiltImage, tmp_path_factory: pytest.TempPathFactory
) -> BuiltImage:
    """``dockyard-test/multi:latest``: 4 layers on busybox (see ``_infra.MULTI``); (ref, id)."""
    return build_multilayer_image(dockerd, tmp_path_factory.mktemp("multi"), base=busybox_image.ref)


@pytest.fixture
def dockyard_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty store directory; also exported as $DOCKYARD_ROOT for this test."""
    root = tmp_path / "dockyard-root"
    root.mkdir()
    monkeypatch.setenv(ROOT_ENV, str(root))
    return root
