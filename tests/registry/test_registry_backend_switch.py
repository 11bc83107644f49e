"""DOCKYARD_TEST_BACKEND: the registry fixtures and ``start_registry`` land on the chosen
backend (SQLite and files, or PostgreSQL + S3 + Redis), and the helpers a test uses to look
behind the API (``backend.database``, ``backend.storage``) see what the registry stored."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from _infra import backend
from _infra.registry_server import (
    ASGIClient,
    RegistryProcess,
    push_image,
    sha256,
    start_registry,
)
from dockyard.digest import Digest
from dockyard.registry import Registry, RegistryApp
from dockyard.registry.metadata._schema import repositories
from dockyard.registry.redis.generations import RedisGenerations
from dockyard.registry.storage import FilesystemDriver, StorageDriver, blob_key
from dockyard.registry.storage.s3 import S3Driver


def _driver(storage: StorageDriver) -> StorageDriver:
    """The driver under the registry's timing wrapper (registry_storage_action_seconds)."""
    inner: StorageDriver = getattr(storage, "inner", storage)
    return inner


def test_the_registry_fixture_is_on_the_chosen_backend(registry: Registry) -> None:
    if backend.cluster():
        assert registry.meta.db.is_postgresql
        assert isinstance(_driver(registry.storage), S3Driver)
        assert isinstance(registry.shared, RedisGenerations)
    else:
        assert not registry.meta.db.is_postgresql
        assert isinstance(_driver(registry.storage), FilesystemDriver)


def test_a_served_registry_keeps_its_data_where_the_helpers_look(
    registry_server: RegistryProcess, tmp_path: Path
) -> None:
    with httpx.Client(base_url=registry_server.url, timeout=30) as client:
        image = push_image(client, "team/app", "v1")
    db = backend.database(registry_server.root)
    try:
        with db.read() as conn:
            names = [row[0] for row in conn.execute(select(repositories.c.name))]
    finally:
        db.close()
    assert names == ["team/app"]
    with backend.storage(registry_server.root) as storage:
        info = storage.stat(blob_key(Digest.parse(sha256(image.config))))
        assert info is not None and info.size == len(image.config)
    # on the cluster backend nothing of it is on the local disk
    assert not (registry_server.root / "blobs").exists() or not backend.cluster()
    # a second process on the same root serves the same data (as a restart does)
    with (
        start_registry(registry_server.root) as again,
        httpx.Client(base_url=again.url, timeout=30) as client,
    ):
        assert client.get("/v2/team/app/manifests/v1").content == image.manifest


def test_each_root_is_a_registry_of_its_own(tmp_path: Path) -> None:
    first = backend.open_registry(tmp_path / "one")
    second = backend.open_registry(tmp_path / "two")
    try:
        with ASGIClient(RegistryApp(first, threads=2)) as client:
            image = push_image(client, "team/app", "v1")
        with ASGIClient(RegistryApp(second, threads=2)) as client:
            assert client.get("/v2/_catalog").json()["repositories"] == []
            assert client.head(f"/v2/team/app/blobs/{sha256(image.config)}").status_code == 404
    finally:
        first.close()
        second.close()
