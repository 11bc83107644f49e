"""Every access test gets a service over a fresh SQLite file, once per kind of database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra.access import DATABASE_KINDS, Clock, access_database, access_service
from dockyard.registry.access import AccessService
from dockyard.registry.metadata import Database


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=DATABASE_KINDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = access_database(tmp_path, request.param)
    yield database
    database.close()


@pytest.fixture
def service(db: Database, clock: Clock) -> AccessService:
    return access_service(db, clock)
