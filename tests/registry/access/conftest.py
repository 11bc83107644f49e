"""Every access test gets a service over a fresh database, once per kind: SQLite (the
registry's engine and a plain URL) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra.access import DATABASE_KINDS, Clock, access_database, access_service
from _infra.postgres import reset
from dockyard.registry.access import AccessService
from dockyard.registry.metadata import Database


@pytest.fixture
def clock() -> Clock:
    return Clock()


#: The modules whose tests also run on PostgreSQL: the access model's write paths (projects and
#: members, users, quotas, the audit log), not every read, to keep the suite's time.
POSTGRESQL_MODULES = frozenset(
    {
        "test_access_projects",
        "test_access_users_and_login",
        "test_access_quotas",
        "test_access_audit",
        "test_access_audit_writer",
    }
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db" in metafunc.fixturenames:
        module = metafunc.module.__name__.rsplit(".", 1)[-1]
        extra = ["postgresql"] if module in POSTGRESQL_MODULES else []
        metafunc.parametrize("db", [*DATABASE_KINDS, *extra], indirect=True)


@pytest.fixture
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "postgresql":  # one database per module, emptied for each test
        database = Database(request.getfixturevalue("postgres_url"))
        reset(database)
    else:
        database = access_database(tmp_path, request.param)
    yield database
    database.close()


@pytest.fixture
def service(db: Database, clock: Clock) -> AccessService:
    return access_service(db, clock)
