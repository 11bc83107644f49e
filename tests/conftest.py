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

#: Fixtures that start a server for the test: a registry process per test, or PostgreSQL.
SERVER_FIXTURES = frozenset({"registry_server", "postgres"})


def _starts_a_server(item: pytest.Item) -> bool:
    """Whether ``item`` uses a fixture of SERVER_FIXTURES (directly or through another fixture)
    or is the ``postgresql`` case of a test parametrised by database engine."""
    if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "postgresql" in [
        value for value in callspec.params.values() if isinstance(value, str)
    ]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the ``dockerd`` fixture, directly or through another fixture, is a
    ``docker`` test, marked or not: ``-m "not docker"`` (``make check``) must never start one.
    Likewise a test that starts a server (``_starts_a_server``) is ``slow``: ``make check``
    keeps its SQLite and in-process cases and leaves it to ``make test``.
    tryfirst: the marks are in place before ``-m`` deselects."""
    for item in items:
        if (
            "dockerd" in getattr(item, "fixturenames", ())
            and item.get_closest_marker("docker") is None
        ):
            item.add_marker(pytest.mark.docker)
        if _starts_a_server(item) and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.slow)


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
