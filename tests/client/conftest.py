"""Real registries for the client tests: Debian's docker-registry, with and without htpasswd."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _infra import RunningRegistry, docker_registry  # noqa: E402

USER, PASSWORD = "alice", "s3cret-pass"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """docker-registry (distribution 2.8) on 127.0.0.1, no auth."""
    with docker_registry(tmp_path_factory.mktemp("registry")) as running:
        yield running


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """docker-registry with htpasswd (bcrypt) auth for ``alice``."""
    with docker_registry(
        tmp_path_factory.mktemp("auth-registry"), user=USER, password=PASSWORD
    ) as running:
        yield running


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty $DOCKER_CONFIG for this test (login writes config.json here)."""
    path = tmp_path / "docker-config"
    path.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(path))
    monkeypatch.setenv("DOCKYARD_REGISTRIES_CONFIG", str(tmp_path / "no-registries.json"))
    return path
