"""A real PostgreSQL 15 for the tests: one server per test session, one database per module.

``initdb`` refuses to run as root, so the cluster belongs to the ``postgres`` user (Debian's
package makes it) in a temporary directory it owns; the server listens on 127.0.0.1 on a free
port (and its socket in that directory) with ``trust`` authentication, no fsync (nothing here
must survive a machine's crash) but synchronous commit (a committed transaction is in the
operating system's hands, so it survives :meth:`PostgresServer.crash`, a killed server, as
PostgreSQL promises) and the C collation, the one the registry documents (byte order, as SQLite
sorts).
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from _infra._process import run_command
from _infra._registry import free_port
from dockyard.registry.metadata import Database
from dockyard.registry.migrations import VERSION_TABLE, migrate

__all__ = [
    "BIN",
    "PostgresServer",
    "available",
    "engine_database",
    "module_database",
    "reopen",
    "reset",
    "start_postgres",
]

BIN = Path("/usr/lib/postgresql/15/bin")
USER = "postgres"


def available() -> bool:
    return (BIN / "postgres").is_file() and shutil.which("runuser") is not None


def _as_postgres(*argv: str | os.PathLike[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", USER, "--", *(os.fspath(a) for a in argv)]
    return [os.fspath(a) for a in argv]


@dataclass
class PostgresServer:
    """A running cluster; :meth:`url` names one of its databases."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes]
    databases: list[str] = field(default_factory=list)

    def url(self, database: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=USER, dbname="postgres", autocommit=True
        )

    def create_database(self, name: str) -> str:
        """A new empty database (dropped first if a crashed run left it); its URL."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"not a plain database name: {name!r}")
        with self._admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'")
        self.databases.append(name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def crash(self) -> None:
        """Stop the server at once, as a crash does (``pg_ctl stop -m immediate``: every
        connection cut, no shutdown checkpoint, recovery at the next start), keeping its data
        for :meth:`start`: an outage."""
        data = self.directory / "data"
        run_command(_as_postgres(BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"))
        self.process.wait(timeout=20)

    def start(self) -> None:
        """Start the server again on its port and data directory (after :meth:`crash`);
        returns once it accepts connections."""
        if self.process.poll() is None:
            raise RuntimeError("PostgreSQL is still running")
        self.process = _launch(self.directory, self.port)
        _wait_up(self)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: postgres' "smart" shutdown
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test process dies, stopping the server even when the
    session is killed before its teardown (runuser passes the signal on to postgres)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_postgres() -> PostgresServer:
    """initdb and start a server on 127.0.0.1 and a free port; raises if it does not come up."""
    directory = Path(tempfile.mkdtemp(prefix="dypg-"))
    data = directory / "data"
    shutil.chown(directory, USER, USER)
    run_command(
        _as_postgres(
            BIN / "initdb", "-D", data, "-U", USER, "--auth=trust", "--encoding=UTF8",
            "--locale=C", "--no-sync", "--no-instructions",
        )
    )  # fmt: skip
    port = free_port()
    server = PostgresServer(directory, port, _launch(directory, port))
    _wait_up(server)
    return server


def _launch(directory: Path, port: int) -> subprocess.Popen[bytes]:
    """The server process on ``directory``'s data, listening on 127.0.0.1:``port``."""
    log = open(directory / "postgres.log", "ab")  # noqa: SIM115 - the server's, closed by it
    process = subprocess.Popen(
        _as_postgres(
            BIN / "postgres", "-D", directory / "data", "-p", str(port), "-k", directory,
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
            "-c", "full_page_writes=off",
            "-c", "max_connections=300", "-c", "shared_buffers=32MB",
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
    )  # fmt: skip
    log.close()
    return process


def _wait_up(server: PostgresServer) -> None:
    """Until ``server`` accepts connections; stops it and raises if it does not come up."""
    process, directory = server.process, server.directory
    deadline = time.monotonic() + 60
    while True:
        try:
            server._admin().close()
            return
        except psycopg.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                output = (directory / "postgres.log").read_text(errors="replace")
                server.stop()
                raise RuntimeError(f"PostgreSQL did not start:\n{output[-4000:]}") from None
            time.sleep(0.1)


def database_name(module: str) -> str:
    """A database name for a test module (``tests.registry.x.test_y`` → ``t_test_y``)."""
    tail = module.rsplit(".", 1)[-1].lower()
    return "t_" + re.sub(r"[^a-z0-9_]", "_", tail)[:55]


@contextmanager
def module_database(server: PostgresServer, module: str) -> Iterator[str]:
    """A migrated database for one test module; its URL. Dropped afterwards."""
    name = database_name(module)
    url = server.create_database(name)
    db = Database(url)
    try:
        migrate(db)
    finally:
        db.close()
    try:
        yield url
    finally:
        server.drop_database(name)


def reset(db: Database) -> None:
    """Empty every table (identities restarted), keeping the schema and its revision: each
    test starts from what a fresh database holds."""
    with db.write() as conn:
        names = [
            row[0]
            for row in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
            if row[0] != VERSION_TABLE
        ]
        if names:
            quoted = ", ".join(f'"{n}"' for n in names)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


def engine_database(request: pytest.FixtureRequest, kind: str, path: Path) -> Database:
    """A registry database of ``kind``: ``sqlite`` (a new file at ``path``) or ``postgresql``
    (the module's database, emptied; the ``postgres_url`` fixture of tests/registry)."""
    if kind == "postgresql":
        db = Database(request.getfixturevalue("postgres_url"))
        reset(db)
        return db
    return Database(path)


def reopen(db: Database) -> Database:
    """Another ``Database`` on the same database (what a second process would open)."""
    if db.is_postgresql:
        return Database(db.engine.url.render_as_string(hide_password=False))
    return Database(db.where)
