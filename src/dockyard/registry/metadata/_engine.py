"""Opening the metadata database: SQLite (WAL, busy timeout, IMMEDIATE writes) or PostgreSQL.

Every write transaction is serialised with every other, on both engines: SQLite's ``BEGIN
IMMEDIATE`` takes the database's write lock; on PostgreSQL the first statement of a write
transaction takes one transaction-scoped advisory lock (:data:`WRITE_LOCK`), held until commit
or rollback. The registry's writes read, then write (is the manifest there? which rows does a
delete reach?), and hold their invariants because no other writer runs between the read and
the write, whichever process, machine or engine. Reads never wait for that lock, and see one
snapshot, as a SQLite read transaction does.

A SQLite writer that finds the lock taken retries ``BEGIN IMMEDIATE`` every 0.5 to 2 ms (for
up to a minute) instead of through SQLite's busy handler, which sleeps up to 100 ms between
attempts: a push waiting behind a garbage collection's batch gets the lock within about a
millisecond of its release. While it waits it holds a shared ``flock`` on a small file next to
the database (``registry.db-writers``), so that :meth:`Database.writers_waiting` can tell a
long-running writer (the collector), in any process on the machine, that others wait for it.
On PostgreSQL the lock's own queue says so (``pg_locks``).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from dockyard.errors import Unavailable
from dockyard.registry._outages import Outage
from dockyard.registry.metadata._schema import metadata
from dockyard.registry.metadata._settings import DatabaseSettings, engine_url

__all__ = ["WRITE_LOCK", "Database"]

#: The advisory lock key every PostgreSQL write transaction takes (``b"dockyard"`` as a number).
WRITE_LOCK = int.from_bytes(b"dockyard", "big")

#: SQLSTATEs of a server that is gone or not ready: connection exceptions (class 08), and an
#: administrator's or a crash's shutdown, or a start-up in progress (57P01 to 57P03).
_GONE_STATES = ("08", "57P01", "57P02", "57P03")


#: Whether a session of this database waits for :data:`WRITE_LOCK` (a bigint advisory lock
#: is listed with the key's high half as ``classid``, its low half as ``objid``).
_PG_WAITERS = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND classid = :high AND objid = :low AND objsubid = 1)"
)
_PG_WRITE_LOCK = {"high": WRITE_LOCK >> 32, "low": WRITE_LOCK & 0xFFFFFFFF}


def _server_gone(exc: DBAPIError) -> bool:
    """Whether ``exc`` says the database server went away (rather than refusing a statement)."""
    if exc.connection_invalidated:
        return True
    state = getattr(exc.orig, "sqlstate", None)
    return isinstance(state, str) and state.startswith(_GONE_STATES)


#: How long a SQLite writer waits for the write lock before "database is locked" (seconds).
LOCK_TIMEOUT = 60.0
#: The first and the longest pause between a waiting SQLite writer's attempts (seconds).
_RETRY_FIRST = 0.0005
_RETRY_MAX = 0.002
_SQLITE_BUSY = 5


class _WriterFlag:
    """The ``-writers`` file next to a SQLite database: a writer waiting for the write lock
    holds a shared lock on it; one that can take an exclusive lock at once sees nobody
    waiting."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._probe: int | None = None
        self._lock = threading.Lock()

    def _open(self) -> int:
        return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    @contextmanager
    def waiting(self) -> Iterator[None]:
        try:
            fd = self._open()
        except OSError:  # a read-only directory: wait unannounced
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    def anyone(self) -> bool:
        with self._lock:
            try:
                if self._probe is None:
                    self._probe = self._open()
                fcntl.flock(self._probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            except OSError:
                return False
            fcntl.flock(self._probe, fcntl.LOCK_UN)
            return False

    def close(self) -> None:
        with self._lock:
            if self._probe is not None:
                os.close(self._probe)
                self._probe = None


def _busy(exc: sqlite3.OperationalError) -> bool:
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == _SQLITE_BUSY


def _begin_immediate(conn: Connection, flag: _WriterFlag) -> None:
    """``BEGIN IMMEDIATE``, retried every 0.5 to 2 ms while another connection writes."""
    raw: Any = conn.connection.dbapi_connection
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        with ExitStack() as announced:
            deadline = time.monotonic() + LOCK_TIMEOUT
            delay = _RETRY_FIRST
            while True:
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if not _busy(exc):
                        raise
                if time.monotonic() >= deadline:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")  # "database is locked", wrapped
                if delay == _RETRY_FIRST:
                    announced.enter_context(flag.waiting())
                time.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(LOCK_TIMEOUT * 1000)}")


def _sqlite_engine(path: Path, flag: _WriterFlag) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": LOCK_TIMEOUT},
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
        if conn.get_execution_options().get("dockyard_write", False):
            _begin_immediate(conn, flag)
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def _postgresql_engine(url: URL, settings: DatabaseSettings) -> Engine:
    engine = create_engine(
        url,
        pool_size=settings.pool,
        max_overflow=settings.pool,
        pool_pre_ping=True,
        connect_args=dict(settings.options),
    )

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        if conn.get_execution_options().get("dockyard_write", False):
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")

    return engine


class Database:
    """The engine plus the two kinds of transaction the registry uses.

    ``target`` is a path (SQLite, made with the registry's tables), a URL or the ``database:``
    settings. A PostgreSQL database is opened as it is: its tables are the migrations' business
    (``dockyard registry migrate``), checked by :mod:`dockyard.registry.migrations`.
    """

    def __init__(self, target: str | Path | DatabaseSettings) -> None:
        settings = target if isinstance(target, DatabaseSettings) else None
        self._flag: _WriterFlag | None = None
        text = str(target) if settings is None else (settings.url or "")
        if "://" in text:
            url = engine_url(text)
            #: the URL with its password hidden, for messages
            self.where = url.render_as_string(hide_password=True)
            self.is_postgresql = url.get_backend_name() == "postgresql"
            if self.is_postgresql:
                self.engine = _postgresql_engine(url, settings or DatabaseSettings(url=text))
            else:
                self.engine = create_engine(url, pool_pre_ping=True)
        else:
            path = Path(text)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.where = str(path)
            self.is_postgresql = False
            self._flag = _WriterFlag(path.with_name(path.name + "-writers"))
            self.engine = _sqlite_engine(path, self._flag)
        service = (
            f"PostgreSQL at {self.where}" if self.is_postgresql else f"the database {self.where}"
        )
        #: this process's view of the database server: one log line per outage
        self.outage = Outage(
            service,
            "check that the server runs and accepts connections at database.url; "
            "the registry reconnects by itself",
        )
        try:
            if self.is_postgresql:
                with self.engine.connect():
                    pass
            else:
                self.create_tables(metadata)
        except OperationalError as exc:
            self.engine.dispose()
            raise Unavailable(
                f"cannot open the registry database {self.where}: {exc.orig}; "
                + (
                    "check database.url, that PostgreSQL runs there and takes the credentials"
                    if self.is_postgresql
                    else "check that its directory exists and is writable"
                )
            ) from exc

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A pooled connection. A server that cannot be reached (refused, gone mid-statement,
        shutting down or starting up) or a pool with no free connection is
        :class:`~dockyard.errors.Unavailable` (503 on the registry's HTTP API), logged once
        per outage; the pool checks each connection before use (``pool_pre_ping``), so the
        first request after the server returns reconnects."""
        try:
            conn = self.engine.connect()
        except DBAPIError as exc:
            raise self._unavailable(exc) from exc
        except PoolTimeout as exc:
            raise Unavailable(
                "the registry is too busy: no free connection to its metadata database",
                hint="retry; if it persists, raise database.pool or look for slow queries",
            ) from exc
        self.outage.succeeded()
        try:
            with conn:
                yield conn
        except DBAPIError as exc:
            if _server_gone(exc):
                raise self._unavailable(exc) from exc
            raise

    def _unavailable(self, exc: DBAPIError) -> Unavailable:
        self.outage.failed(exc.orig if exc.orig is not None else exc)
        return Unavailable(
            "the registry's metadata database does not answer",
            hint="retry later; the server's log says more",
        )

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction: one snapshot for all its statements (SQLite's deferred
        transaction in WAL mode; PostgreSQL's REPEATABLE READ, which never waits nor fails
        for a transaction that only reads)."""
        with self.connection() as conn:
            if self.is_postgresql:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.connection() as conn:
            conn = conn.execution_options(dockyard_write=True)
            with conn.begin():
                yield conn

    def writers_waiting(self) -> bool:
        """Whether a write transaction, of any process, waits for the write lock now (a
        long-running writer such as the garbage collector pauses for them). False on engines
        that cannot tell (neither SQLite nor PostgreSQL)."""
        if self._flag is not None:
            return self._flag.anyone()
        if not self.is_postgresql:
            return False
        with self.read() as conn:
            return bool(conn.execute(_PG_WAITERS, _PG_WRITE_LOCK).scalar())

    def create_tables(self, tables: MetaData) -> None:
        """Create the tables of ``tables`` that are missing, in a write transaction (SQLite's
        ``BEGIN IMMEDIATE``): a deferred transaction that upgrades to a write while another
        process or thread writes fails at once with "database is locked" instead of waiting
        its turn — as every worker process creating its tables at start-up would. On a
        migrated database (every PostgreSQL one) the tables are there and nothing is made."""
        with self.write() as conn:
            tables.create_all(conn)

    def close(self) -> None:
        self.engine.dispose()
        if self._flag is not None:
            self._flag.close()
