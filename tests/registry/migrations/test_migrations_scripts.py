"""The schema's migrations: the scripts equal every feature's MetaData on SQLite and PostgreSQL
(Alembic's autogenerate comparison finds nothing), ``dockyard registry migrate`` runs them,
and the start-up rule serves only a schema it understands (migrating embedded SQLite itself)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from _infra.cli_contract import run_in_process
from _infra.postgres import PostgresServer
from dockyard.errors import FailedPrecondition
from dockyard.registry import Registry
from dockyard.registry.metadata import Database, RegistryMetadata
from dockyard.registry.migrations import (
    HEAD,
    REVISIONS,
    VERSION_TABLE,
    SchemaTooNew,
    _alembic,
    current,
    migrate,
)
from dockyard.registry.migrations._tables import schema


def _differences(conn: Connection) -> list[object]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, schema()))


@pytest.fixture(scope="module")
def empty_postgres(postgres: PostgresServer) -> Iterator[PostgresServer]:
    """The session's server; databases made here are dropped with the module."""
    yield postgres
    for name in [n for n in postgres.databases if n.startswith("t_mig_")]:
        postgres.drop_database(name)


def test_the_revision_list_is_the_scripts_chain() -> None:
    assert list(REVISIONS) == _alembic.revisions()
    assert _alembic.head() == HEAD


def test_the_scripts_equal_the_metadata_on_sqlite(tmp_path: Path) -> None:
    db = Database(tmp_path / "scripts.db")
    try:
        with db.write() as conn:
            schema().drop_all(conn)  # Database made the core tables: start from nothing
            assert inspect(conn).get_table_names() == []
            _alembic.upgrade(conn)  # every script, from nothing
        with db.read() as conn:
            assert current(conn) == HEAD
            assert _differences(conn) == []
            assert set(inspect(conn).get_table_names()) == {*schema().tables, VERSION_TABLE}
    finally:
        db.close()


def test_the_scripts_equal_the_metadata_on_postgresql(postgres_url: str) -> None:
    db = Database(postgres_url)  # migrated by the scripts (PostgreSQL never takes a shortcut)
    try:
        with db.read() as conn:
            assert current(conn) == HEAD
            assert _differences(conn) == []
    finally:
        db.close()


def test_a_new_sqlite_database_is_made_at_head_equal_to_the_scripts(tmp_path: Path) -> None:
    registry = Registry.open(tmp_path / "fresh")
    try:
        with registry.meta.db.read() as conn:
            assert current(conn) == HEAD
            assert _differences(conn) == []
    finally:
        registry.close()


def test_a_sqlite_database_from_before_migrations_is_adopted_with_its_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old" / "registry.db"
    old = Database(path)  # what an older dockyard left: the core tables and a row
    RegistryMetadata(old).add_blob("team/app", "sha256:" + "a" * 64, 3)
    old.close()
    registry = Registry.open(tmp_path / "old")
    try:
        assert registry.meta.stored_blob_size("sha256:" + "a" * 64) == 3
        with registry.meta.db.read() as conn:
            assert current(conn) == HEAD
            assert _differences(conn) == []
    finally:
        registry.close()


def test_a_schema_from_a_newer_dockyard_is_refused_on_sqlite(tmp_path: Path) -> None:
    Registry.open(tmp_path / "r").close()
    with sqlite3.connect(tmp_path / "r" / "registry.db") as conn:
        conn.execute(f"UPDATE {VERSION_TABLE} SET version_num = '9999'")
    with pytest.raises(SchemaTooNew, match="revision 9999") as caught:
        Registry.open(tmp_path / "r")
    assert "newer dockyard" in str(caught.value)
    db = Database(tmp_path / "r" / "registry.db")
    try:
        with pytest.raises(SchemaTooNew):
            migrate(db)  # nor does migrate touch it
    finally:
        db.close()


def test_postgresql_is_never_migrated_by_starting(
    empty_postgres: PostgresServer, tmp_path: Path
) -> None:
    url = empty_postgres.create_database("t_mig_start")
    with pytest.raises(FailedPrecondition, match="has no schema yet") as caught:
        Registry.open(tmp_path / "r", database=url)
    assert "dockyard registry migrate" in (caught.value.hint or "")
    db = Database(url)
    try:
        with db.read() as conn:
            assert inspect(conn).get_table_names() == []  # nothing made
    finally:
        db.close()


def test_migrate_command_makes_and_then_keeps_a_postgresql_schema(
    empty_postgres: PostgresServer, tmp_path: Path
) -> None:
    url = empty_postgres.create_database("t_mig_cli")
    env = {"REGISTRY_DATABASE_URL": url}
    first = run_in_process(
        "registry", "migrate", "--root", tmp_path / "r", "--format", "json", root=tmp_path, env=env
    )
    report = json.loads(first.stdout)
    assert report["before"] is None and report["after"] == HEAD and report["changed"]
    assert set(report["created"]) == set(schema().tables)
    again = run_in_process("registry", "migrate", "--root", tmp_path / "r", root=tmp_path, env=env)
    assert f"schema at revision {HEAD}, nothing to do" in again.stdout
    Registry.open(tmp_path / "r", database=url).close()  # now it serves
    db = Database(url)
    try:
        with db.write() as conn:
            conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    finally:
        db.close()
    with pytest.raises(SchemaTooNew):
        Registry.open(tmp_path / "r", database=url)
    refused = run_in_process(
        "registry", "migrate", "--root", tmp_path / "r", root=tmp_path, env=env, check=False
    )
    assert refused.returncode != 0 and "9999" in refused.stderr
