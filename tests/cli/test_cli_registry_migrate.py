"""``dockyard registry migrate``: usage errors (125), databases it cannot use (1, one error
naming the fix), and ``--format json``/text on a real PostgreSQL server and on the embedded
SQLite database, first run and again.

The schema the scripts make (and its refusal of a newer one) is tested in
tests/registry/migrations/."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra.cli_contract import assert_help, assert_usage_error, run_in_process
from _infra.postgres import PostgresServer, available, start_postgres
from dockyard.registry.migrations import HEAD
from dockyard.registry.migrations._tables import schema

REPORT_KEYS = {"database", "before", "after", "head", "changed", "created"}


def test_help(dockyard_root: Path) -> None:
    out = assert_help(dockyard_root, "registry", "migrate")
    assert "--format [text|json]" in out


def test_usage_errors_exit_125(dockyard_root: Path, tmp_path: Path) -> None:
    for args, message in (
        (["--bogus"], "No such option '--bogus'"),
        (["--format", "yaml"], "Invalid value for '--format': 'yaml' is not one of"),
        (["a.yml", "extra"], "Got unexpected extra argument (extra)"),
    ):
        result = run_in_process("registry", "migrate", *args, root=dockyard_root, check=False)
        assert_usage_error(result, message)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_databases_it_cannot_use_exit_1(dockyard_root: Path, tmp_path: Path) -> None:
    bad_yaml = tmp_path / "bad.yml"
    bad_yaml.write_text("version: [\n")
    for args, env, message in (
        (["-c", str(tmp_path / "nosuch.yml")], {}, "does not exist"),
        (["-c", str(bad_yaml)], {}, "not valid YAML"),
        (
            ["--root", str(tmp_path / "r")],
            {"REGISTRY_DATABASE_URL": "mysql://u@127.0.0.1:1/db"},
            "database.url names 'mysql', which dockyard does not support",
        ),
        (
            ["--root", str(tmp_path / "r")],
            {"REGISTRY_DATABASE_URL": f"postgresql://u@127.0.0.1:{_closed_port()}/db"},
            "cannot open the registry database",
        ),
    ):
        out = run_in_process("registry", "migrate", *args, root=dockyard_root, env=env, check=False)
        assert out.returncode == 1, (args, out.stderr)
        assert out.stderr.startswith("Error: ") and message in out.stderr, (args, out.stderr)
        assert out.stdout == ""


def test_sqlite_json_then_text(dockyard_root: Path, tmp_path: Path) -> None:
    """The embedded database under --root (made at head; a second run does nothing)."""
    root = tmp_path / "registry"
    first = run_in_process(
        "registry", "migrate", "--root", root, "--format", "json", root=dockyard_root
    )
    report = json.loads(first.stdout)
    assert set(report) == REPORT_KEYS
    assert report["database"] == str(root / "registry.db")
    assert (report["before"], report["after"], report["head"]) == (None, HEAD, HEAD)
    assert report["changed"] is True and report["created"] == sorted(report["created"])
    assert report["created"], report
    again = json.loads(
        run_in_process(
            "registry", "migrate", "--root", root, "--format", "json", root=dockyard_root
        ).stdout
    )
    assert again == {**report, "before": HEAD, "changed": False, "created": []}
    text = run_in_process("registry", "migrate", "--root", root, root=dockyard_root)
    assert text.stdout == f"{root / 'registry.db'}: schema at revision {HEAD}, nothing to do\n"
    # the config file's storage root, as `registry serve -c` reads it
    config = tmp_path / "config.yml"
    other = tmp_path / "other"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {other}\n")
    made = run_in_process("registry", "migrate", "-c", config, root=dockyard_root)
    created = len(report["created"])
    assert made.stdout == (
        f"{other / 'registry.db'}: schema revision none -> {HEAD}, {created} table(s) created\n"
    )


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    if not available():  # failed, not skipped: `make test` installs it
        pytest.fail("PostgreSQL 15 is missing: install postgresql-15 (`make test` does)")
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.slow
def test_postgresql_json_then_text(postgres: PostgresServer, dockyard_root: Path) -> None:
    url = postgres.create_database("cli_migrate")
    env = {"REGISTRY_DATABASE_URL": url}
    root = dockyard_root / "registry"
    first = run_in_process(
        "registry", "migrate", "--root", root, "--format", "json", root=dockyard_root, env=env
    )
    report = json.loads(first.stdout)
    assert set(report) == REPORT_KEYS
    assert report["database"].startswith("postgresql") and "cli_migrate" in report["database"]
    assert (report["before"], report["after"], report["changed"]) == (None, HEAD, True)
    assert set(report["created"]) == set(schema().tables)
    assert not (root / "registry.db").exists()  # the server's database, not the embedded one
    again = run_in_process("registry", "migrate", "--root", root, root=dockyard_root, env=env)
    assert again.stdout == f"{report['database']}: schema at revision {HEAD}, nothing to do\n"
