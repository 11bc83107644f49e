"""Registry fixtures: an in-process app behind an httpx client, and a real server process."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra import Podman, backend
from _infra.postgres import PostgresServer, available, module_database, start_postgres
from _infra.registry_server import ASGIClient, RegistryProcess, start_registry
from dockyard.registry import Registry, RegistryApp


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole session, started on first use."""
    if not available():
        pytest.skip("PostgreSQL 15 is not installed (apt-get install postgresql-15)")
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def postgres_url(postgres: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated PostgreSQL database for this test module (dropped after it)."""
    with module_database(postgres, request.module.__name__) as url:
        yield url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """DOCKYARD_TEST_BACKEND=cluster: tests that read or edit the filesystem backend's own
    files are skipped (``make test`` deselects them: -m "not filesystem_only")."""
    if not backend.cluster():
        return
    skip = pytest.mark.skip(reason="filesystem_only: DOCKYARD_TEST_BACKEND=cluster")
    for item in items:
        if item.get_closest_marker("filesystem_only") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _backend_servers() -> Iterator[None]:
    """DOCKYARD_TEST_BACKEND=cluster: PostgreSQL, SeaweedFS and Redis, started on first use
    (tests/_infra/backend.py), stopped when the session ends."""
    yield
    backend.stop()


@pytest.fixture(autouse=True)
def _backend_per_test() -> Iterator[None]:
    """DOCKYARD_TEST_BACKEND=cluster: the databases of the registries a test opened go with it."""
    with backend.per_test():
        yield


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    """A registry under ``tmp_path`` (SQLite and files; or, with DOCKYARD_TEST_BACKEND=cluster,
    PostgreSQL, S3 and Redis)."""
    reg = backend.open_registry(tmp_path / "registry")
    yield reg
    reg.close()


@pytest.fixture
def client(registry: Registry) -> Iterator[ASGIClient]:
    """An httpx client talking to a fresh registry app in this process."""
    app = RegistryApp(registry, threads=4)
    with ASGIClient(app) as c:
        yield c


@pytest.fixture
def registry_server(tmp_path: Path) -> Iterator[RegistryProcess]:
    """``dockyard registry serve`` as a real process on 127.0.0.1 (a free port)."""
    with start_registry(tmp_path / "served") as server:
        yield server


@pytest.fixture
def podman(tmp_path: Path) -> Iterator[Podman]:
    # podman refuses a run root longer than 50 characters: a short temp dir, not tmp_path
    run = Path(tempfile.mkdtemp(prefix="dypm-"))
    where = tmp_path / "podman"
    where.mkdir()
    (where / "auth.json").write_text('{"auths": {}}')
    yield Podman(
        [
            "podman",
            "--root", str(where / "root"),
            "--runroot", str(run),
            "--storage-driver", "vfs",
            "--cgroup-manager", "cgroupfs",
            "--events-backend", "none",
        ],
        {**os.environ, "REGISTRY_AUTH_FILE": str(where / "auth.json")},
    )  # fmt: skip
    shutil.rmtree(run, ignore_errors=True)
