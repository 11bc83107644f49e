"""The ``database:`` section: registry:2's environment rule, PostgreSQL URLs opened with
psycopg 3, and a section that fails closed (a misspelt TLS key never leaves a connection
unencrypted)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument, Unavailable
from dockyard.registry.config import load
from dockyard.registry.metadata import Database, DatabaseSettings, engine_url


def test_the_url_and_pool_come_from_the_environment() -> None:
    config = load(
        None,
        {
            "REGISTRY_DATABASE_URL": "postgresql://registry:pw@127.0.0.1:5432/registry",
            "REGISTRY_DATABASE_POOL": "4",
            "REGISTRY_DATABASE_SSLMODE": "require",
            "REGISTRY_DATABASE_CONNECTTIMEOUT": "5s",
        },
    )
    assert config.database == DatabaseSettings(
        url="postgresql://registry:pw@127.0.0.1:5432/registry",
        pool=4,
        options={"sslmode": "require", "connect_timeout": 5},
    )
    assert config.database_url == config.database.url
    assert config.database.is_postgresql


def test_the_file_gives_tls_files(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    path = tmp_path / "config.yml"
    path.write_text(
        "version: 0.1\n"
        "database:\n"
        "  url: postgres://registry@db.example/registry\n"
        "  sslmode: verify-full\n"
        f"  sslrootcert: {ca}\n"
    )
    settings = load(path, {}).database
    assert settings.options == {"sslmode": "verify-full", "sslrootcert": str(ca)}


def test_no_section_is_sqlite_in_the_root() -> None:
    settings = load(None, {}).database
    assert settings.url is None and not settings.is_postgresql


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REGISTRY_DATABASE_SSLMOD": "require"}, "unknown configuration key 'database.sslmod'"),
        (
            {"REGISTRY_DATABASE_URL": "postgresql://h/x", "REGISTRY_DATABASE_SSLMODE": "on"},
            "database.sslmode 'on' is not one of libpq's modes",
        ),
        ({"REGISTRY_DATABASE_SSLMODE": "require"}, "the database is SQLite"),
        (
            {"REGISTRY_DATABASE_URL": "postgresql://h/x", "REGISTRY_DATABASE_SSLROOTCERT": "/no"},
            "database.sslrootcert /no is not a readable file",
        ),
        ({"REGISTRY_DATABASE_URL": "mysql://h/x"}, "'mysql', which dockyard does not support"),
        ({"REGISTRY_DATABASE_URL": "not a url"}, "database.url is not a database URL"),
        ({"REGISTRY_DATABASE_POOL": "0"}, "database.pool is 0"),
    ],
)
def test_a_wrong_section_stops_start_up(env: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        load(None, env)


@pytest.mark.parametrize(
    "url", ["postgresql://u@h/d", "postgres://u@h/d", "postgresql+psycopg://u@h/d"]
)
def test_postgresql_urls_are_opened_with_psycopg_3(url: str) -> None:
    assert engine_url(url).drivername == "postgresql+psycopg"


def test_an_unreachable_postgresql_is_unavailable_with_what_to_check() -> None:
    with pytest.raises(Unavailable, match=r"check database\.url") as caught:
        Database("postgresql://registry:hidden@127.0.0.1:1/registry")
    assert "hidden" not in str(caught.value)  # the password is never shown
