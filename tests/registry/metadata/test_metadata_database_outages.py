"""The metadata database on PostgreSQL when its server drops the registry's connections:
the transaction in flight fails as Unavailable (503 on the API), logged once, and the next
transaction reconnects by itself; errors that are not about reaching the server (a bad
statement, a broken constraint) pass through unchanged."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from dockyard.errors import Unavailable
from dockyard.registry.metadata import Database


@pytest.fixture
def db(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    try:
        yield database
    finally:
        database.close()


def _cut_every_connection(postgres_url: str) -> None:
    """What a server restart does to clients: each of the database's other sessions ends."""
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def test_a_dropped_connection_is_unavailable_then_reconnects(
    db: Database, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dockyard.registry")
    with db.read() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1

    with pytest.raises(Unavailable) as raised, db.write() as conn:
        conn.execute(text("SELECT 1"))
        _cut_every_connection(postgres_url)
        conn.execute(text("SELECT 1"))
    assert raised.value.http_status == 503 and raised.value.oci_code == "UNAVAILABLE"
    assert postgres_url.split("@")[-1] not in str(raised.value)  # no address to clients
    assert db.outage.down

    with db.read() as conn:  # the pool throws the dead connection away and opens another
        assert conn.execute(text("SELECT 1")).scalar() == 1
    assert not db.outage.down

    lines = [r.getMessage() for r in caplog.records if "PostgreSQL at" in r.getMessage()]
    assert len(lines) == 2, lines
    assert "does not answer" in lines[0] and "database.url" in lines[0]
    assert "answers again" in lines[1] and "(1 failed request)" in lines[1]


def test_a_statement_the_server_refuses_is_not_an_outage(db: Database) -> None:
    with pytest.raises(ProgrammingError), db.read() as conn:
        conn.execute(text("SELECT * FROM no_such_table"))
    assert not db.outage.down
