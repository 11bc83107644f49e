"""DOCKYARD_TEST_BACKEND reaches the team-platform helpers too: the in-process registries the
Harbor API, projects, promotion, retention, token and console tests build from their own
configuration land on the chosen backend (SQLite and files, or PostgreSQL + S3 + Redis), where
``backend.database`` and ``backend.storage`` look for the registry's data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from _infra import backend
from dockyard.registry import Registry
from dockyard.registry.redis.generations import RedisGenerations
from dockyard.registry.storage import FilesystemDriver, StorageDriver
from dockyard.registry.storage.s3 import S3Driver


def _driver(storage: StorageDriver) -> StorageDriver:
    """The driver under the registry's timing wrapper (registry_storage_action_seconds)."""
    inner: StorageDriver = getattr(storage, "inner", storage)
    return inner


#: a helper under test: given a directory, the registry it serves and the root its data is
#: kept under (the root ``backend`` keys the registry's database and bucket prefix on)
Opened = Callable[[Path], AbstractContextManager[tuple[Registry, Path]]]


@contextmanager
def _access(where: Path) -> Iterator[tuple[Registry, Path]]:
    from _infra.harbor_api import access_registry

    with access_registry(where) as reg:
        yield reg.app.registry, where / "data"


@contextmanager
def _promotion(where: Path) -> Iterator[tuple[Registry, Path]]:
    from _infra.promotion import promotion_registry

    with promotion_registry(where) as reg:
        yield reg.app.registry, where / "data"


@contextmanager
def _retention(where: Path) -> Iterator[tuple[Registry, Path]]:
    from _infra.retention import serve_projects

    with serve_projects(where) as served:
        yield served.app.registry, where / "data"


@contextmanager
def _token(where: Path) -> Iterator[tuple[Registry, Path]]:
    from _infra.token_registry import token_registry

    with token_registry(where, {"alice": "pw"}) as served:
        yield served.app.registry, where / "data"


@contextmanager
def _console(where: Path) -> Iterator[tuple[Registry, Path]]:
    from _infra.console import close_app, projects_app

    app, _ = projects_app(where)
    try:
        yield app.registry, where
    finally:
        close_app(app)


HELPERS: dict[str, Opened] = {
    "harbor_api.access_registry": _access,
    "promotion.promotion_registry": _promotion,
    "retention.serve_projects": _retention,
    "token_registry.token_registry": _token,
    "console.projects_app": _console,
}


@pytest.mark.parametrize("helper", list(HELPERS))
def test_the_helpers_registry_is_on_the_chosen_backend_where_tests_look(
    helper: str, tmp_path: Path
) -> None:
    with HELPERS[helper](tmp_path / "reg") as (registry, root):
        if backend.cluster():
            assert registry.meta.db.is_postgresql
            assert isinstance(_driver(registry.storage), S3Driver)
            assert isinstance(registry.shared, RedisGenerations)
        else:
            assert not registry.meta.db.is_postgresql
            assert isinstance(_driver(registry.storage), FilesystemDriver)
        # what the registry stores, the helpers that look behind the API find
        writer = registry.storage.writer("probe/written-by-the-registry")
        try:
            writer.write(helper.encode())
            writer.commit()
        finally:
            writer.close()
        with backend.storage(root) as storage:
            found = storage.stat("probe/written-by-the-registry")
            assert found is not None and found.size == len(helper)
        db = backend.database(root)
        try:
            url = db.engine.url.render_as_string(hide_password=False)
        finally:
            db.close()
        assert registry.meta.db.engine.url.render_as_string(hide_password=False) == url
