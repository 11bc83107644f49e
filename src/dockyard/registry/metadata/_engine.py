"""Opening the metadata database: SQLite (WAL, busy timeout, IMMEDIATE writes) or any URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event
from sqlalchemy.exc import OperationalError

from dockyard.errors import Unavailable
from dockyard.registry.metadata._schema import metadata

__all__ = ["Database"]


def _sqlite_engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": 60.0},
        pool_size=16,
        max_overflow=32,
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("dockyard_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """The engine plus the two kinds of transaction the registry uses."""

    def __init__(self, url_or_path: str | Path) -> None:
        text = str(url_or_path)
        if "://" in text:
            self.engine = create_engine(text, pool_pre_ping=True)
        else:
            path = Path(text)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.engine = _sqlite_engine(path)
        try:
            self.create_tables(metadata)
        except OperationalError as exc:
            raise Unavailable(
                f"cannot open the registry database {text}: {exc.orig}; check that its "
                "directory exists and is writable"
            ) from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(dockyard_write=True)
            with conn.begin():
                yield conn

    def create_tables(self, tables: MetaData) -> None:
        """Create the tables of ``tables`` that are missing, in a write transaction (SQLite's
        ``BEGIN IMMEDIATE``): a deferred transaction that upgrades to a write while another
        process or thread writes fails at once with "database is locked" instead of waiting
        its turn — as every worker process creating its tables at start-up would."""
        with self.write() as conn:
            tables.create_all(conn)

    def close(self) -> None:
        self.engine.dispose()
