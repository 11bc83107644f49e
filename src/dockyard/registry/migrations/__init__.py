"""The registry database's schema, versioned: Alembic scripts in ``versions/``, run by
``dockyard registry migrate`` and checked whenever the registry opens its database.

The rule at start-up (:func:`prepare`):

- the schema is at :data:`HEAD`: serve;
- it is at a revision this dockyard does not know (a newer dockyard migrated it): refuse, for
  SQLite and PostgreSQL alike — this version would misread tables it does not understand;
- SQLite (the embedded default) that is empty, made before migrations existed, or at an older
  revision: migrate it on the spot, so ``dockyard registry serve`` on a fresh root needs no step;
- PostgreSQL that is empty, unversioned or older: refuse with a message naming
  ``dockyard registry migrate``. Replicas share that database: an upgrade is one decision,
  taken once, not a race between replicas starting with different versions.

Migrations run inside one write transaction (the registry's write lock, see
:class:`~dockyard.registry.metadata.Database`), so two ``migrate`` runs take turns, and
PostgreSQL's transactional DDL leaves nothing half-made when one fails.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    column,
    func,
    inspect,
    select,
    table,
    text,
)

from dockyard.errors import FailedPrecondition
from dockyard.registry.metadata import Database
from dockyard.registry.metadata._schema import metadata as core
from dockyard.registry.migrations import _alembic

__all__ = [
    "HEAD",
    "REVISIONS",
    "VERSION_TABLE",
    "MigrationResult",
    "SchemaTooNew",
    "current",
    "migrate",
    "prepare",
]

#: Every revision of the scripts in ``versions/``, oldest first (a test holds it to them).
REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008")
#: The revision this dockyard's code reads and writes.
HEAD = REVISIONS[-1]
_log = logging.getLogger("dockyard.registry.migrations")

#: Alembic's bookkeeping table.
VERSION_TABLE = "alembic_version"


class SchemaTooNew(FailedPrecondition):
    """The database was migrated by a newer dockyard."""


@dataclass(frozen=True, slots=True)
class MigrationResult:
    """What :func:`migrate` did: ``before`` None is a database without a schema revision."""

    database: str
    before: str | None
    after: str
    #: tables made (the first migration of an empty or pre-migration database)
    created: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def to_json(self) -> dict[str, object]:
        return {
            "database": self.database,
            "before": self.before,
            "after": self.after,
            "head": HEAD,
            "changed": self.changed,
            "created": list(self.created),
        }


def current(conn: Connection) -> str | None:
    """The schema revision recorded in the database; None when it has none."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    version = table(VERSION_TABLE, column("version_num"))
    rows = [str(r[0]) for r in conn.execute(select(version.c.version_num))]
    return rows[0] if len(rows) == 1 else None


def _too_new(db: Database, revision: str) -> SchemaTooNew:
    return SchemaTooNew(
        f"the registry database {db.where} is at schema revision {revision}, which this "
        f"dockyard does not know (it reads revision {HEAD}): a newer dockyard migrated it",
        hint="run this registry with that newer dockyard version, or restore the database "
        "from the backup taken before the upgrade",
    )


def prepare(db: Database) -> None:
    """Check the schema before serving; migrate an embedded SQLite database (see above)."""
    with db.read() as conn:
        revision = current(conn)
        if db.is_postgresql:
            _check_collation(conn, db)
    if revision == HEAD:
        return
    if revision is not None and revision not in REVISIONS:
        raise _too_new(db, revision)
    if not db.is_postgresql:
        migrate(db)
        return
    state = "has no schema yet" if revision is None else f"is at schema revision {revision}"
    raise FailedPrecondition(
        f"the registry database {db.where} {state}; this dockyard needs revision {HEAD}",
        hint="run `dockyard registry migrate` (with the same --config or REGISTRY_DATABASE_URL) "
        "once, then start the registry again",
    )


def _check_collation(conn: Connection, db: Database) -> None:
    collation = conn.execute(
        text("SELECT datcollate FROM pg_database WHERE datname = current_database()")
    ).scalar_one()
    if collation not in ("C", "POSIX", "C.UTF-8", "C.utf8"):
        _log.warning(
            "the registry database %s sorts with collation %s: repositories and tags list in "
            "its order, not byte order as on SQLite and registry:2; create the database with "
            "LC_COLLATE 'C' for that",
            db.where,
            collation,
        )


def migrate(db: Database) -> MigrationResult:
    """Bring the schema to :data:`HEAD`: make an empty database's tables, adopt one made before
    migrations (keeping its rows), run the newer scripts. Raises SchemaTooNew for a database a
    newer dockyard migrated."""
    with db.write() as conn:
        before = current(conn)
        if before == HEAD:
            return MigrationResult(db.where, before, HEAD)
        if before is not None and before not in REVISIONS:
            raise _too_new(db, before)
        existing = set(inspect(conn).get_table_names())
        if before is None and not db.is_postgresql and _fresh(conn, existing):
            created = _create_head(conn, existing)
        else:
            _alembic.upgrade(conn)
            created = tuple(sorted(set(inspect(conn).get_table_names()) - existing))
        after = current(conn)
    assert after == HEAD, after
    return MigrationResult(db.where, before, after, tuple(t for t in created if t != VERSION_TABLE))


def _fresh(conn: Connection, existing: set[str]) -> bool:
    """No table but the registry's core ones (which ``Database`` makes in a new SQLite file),
    and those empty: a new database, whichever way it was made."""
    if not existing <= set(core.tables):
        return False
    for name in existing:
        if conn.execute(select(func.count()).select_from(table(name))).scalar_one():
            return False
    return True


def _create_head(conn: Connection, existing: set[str]) -> tuple[str, ...]:
    """A new database straight at HEAD: the tables from the MetaData (which the scripts equal:
    the migration tests compare them on both engines) and the revision, without Alembic."""
    from dockyard.registry.migrations._tables import schema

    tables = schema()
    missing = [t for t in tables.sorted_tables if t.name not in existing]
    tables.create_all(conn, tables=missing, checkfirst=False)
    version = Table(
        VERSION_TABLE,
        MetaData(),
        Column("version_num", String(32), nullable=False),
        PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
    )
    version.create(conn)
    conn.execute(version.insert().values(version_num=HEAD))
    return tuple(sorted(set(tables.tables) - existing))
