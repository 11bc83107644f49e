"""Where the metadata database is and how to reach it: the ``database:`` section.

::

    database:
      url: postgresql://registry:secret@db.example:5432/registry
      pool: 10                    # connections each process keeps (default 10)
      sslmode: verify-full        # libpq's: disable, allow, prefer, require, verify-ca, verify-full
      sslrootcert: /etc/registry/db-ca.pem
      sslcert: /etc/registry/db-client.pem
      sslkey: /etc/registry/db-client.key
      connecttimeout: 10s

``postgresql://`` (and ``postgres://``) URLs are opened with psycopg 3; ``sqlite:///path`` and a
plain path are SQLite. The TLS keys are passed to libpq as they are; they are refused for SQLite,
where they would mean nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from dockyard.errors import InvalidArgument
from dockyard.registry.limits import parse_duration

__all__ = ["DEFAULT_POOL", "SSLMODES", "DatabaseSettings", "engine_url"]

#: Connections each process keeps open to PostgreSQL, when ``pool`` is not set.
DEFAULT_POOL = 10
#: libpq's ``sslmode`` values.
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
}


def engine_url(text: str) -> URL:
    """``text`` as the SQLAlchemy URL dockyard opens: PostgreSQL through psycopg 3, or SQLite.

    Raises InvalidArgument for a URL that does not parse or names another database or driver.
    """
    try:
        url = make_url(text)
    except ArgumentError:
        raise InvalidArgument(
            "database.url is not a database URL",
            hint="use postgresql://user:password@host:port/dbname or sqlite:///path/registry.db",
        ) from None
    driver = _DRIVERS.get(url.drivername)
    if driver is None:
        raise InvalidArgument(
            f"database.url names {url.drivername!r}, which dockyard does not support",
            hint="use postgresql://… (PostgreSQL 13 or later) or sqlite:///…",
        )
    return url.set(drivername=driver)


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    """The ``database:`` section, checked. ``url`` None: SQLite inside the root directory."""

    url: str | None = None
    pool: int = DEFAULT_POOL
    #: libpq connection options (``sslmode``, ``sslrootcert``, ``sslcert``, ``sslkey``,
    #: ``connect_timeout``), only for PostgreSQL
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> DatabaseSettings:
        """The settings of a ``database:`` section whose keys and types are already checked."""
        url = section.get("url") or None
        pool = section.get("pool", DEFAULT_POOL)
        if not 1 <= pool <= 1000:
            raise InvalidArgument(
                f"database.pool is {pool}", hint="give the connections per process, 1 to 1000"
            )
        options: dict[str, Any] = {}
        sslmode = section.get("sslmode")
        if sslmode is not None:
            if sslmode not in SSLMODES:
                raise InvalidArgument(
                    f"database.sslmode {sslmode!r} is not one of libpq's modes",
                    hint=f"use one of {', '.join(SSLMODES)}",
                )
            options["sslmode"] = sslmode
        for key in ("sslrootcert", "sslcert", "sslkey"):
            value = section.get(key)
            if value:
                if not Path(value).is_file():
                    raise InvalidArgument(
                        f"database.{key} {value} is not a readable file",
                        hint="give the path of a PEM file",
                    )
                options[key] = str(value)
        timeout = section.get("connecttimeout")
        if timeout is not None:
            seconds = parse_duration(str(timeout), "database.connecttimeout")
            options["connect_timeout"] = max(1, round(seconds))
        settings = cls(url=url, pool=pool, options=options)
        if url is not None:
            engine_url(url)  # fail at start-up on a URL that cannot be opened
        if options and not settings.is_postgresql:
            raise InvalidArgument(
                f"database.{next(iter(section.keys() - {'url', 'pool'}))} is set but the "
                "database is SQLite",
                hint="TLS and timeout settings apply to a postgresql:// url only; remove them",
            )
        return settings

    @property
    def is_postgresql(self) -> bool:
        return self.url is not None and engine_url(self.url).get_backend_name() == "postgresql"
