"""Migration 0004 on a database whose scans used their own leases (revision 0003), on SQLite and
on a real PostgreSQL: a report pending at the upgrade becomes a task of the scan queue, due at
once (one that was running when its process stopped included); finished reports keep their
rows and get none; scan_reports' lease columns are gone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from _infra.postgres import engine_database
from dockyard.registry.metadata import Database
from dockyard.registry.migrations import HEAD, _alembic, current
from dockyard.registry.migrations._tables import schema
from dockyard.registry.scanning import ScanQueue, ScanRecords


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = engine_database(request, request.param, tmp_path / "registry.db")
    with database.write() as conn:
        schema().drop_all(conn)  # start from nothing, then the scripts up to 0003
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        _alembic.upgrade(conn, "0003")
    yield database
    database.close()


def test_pending_reports_of_revision_0003_become_due_tasks(db: Database) -> None:
    rows = [
        # digest, status, lease_owner, lease_until, attempts
        ("sha256:" + "a" * 64, "pending", None, None, 0),  # queued, never claimed
        ("sha256:" + "b" * 64, "pending", "host:12:abc", 9e9, 1),  # running when it stopped
        ("sha256:" + "c" * 64, "done", None, None, 1),
    ]
    with db.write() as conn:
        for digest, status, owner, until, attempts in rows:
            conn.execute(
                text(
                    "INSERT INTO scan_reports (digest, repository, status, queued_at, "
                    "lease_owner, lease_until, attempts) VALUES (:d, 'app', :s, 100.0, :o, :u, :a)"
                ),
                {"d": digest, "s": status, "o": owner, "u": until, "a": attempts},
            )
        _alembic.upgrade(conn)
    with db.read() as conn:
        assert current(conn) == HEAD
        columns = {c["name"] for c in inspect(conn).get_columns("scan_reports")}
    assert not columns & {"lease_owner", "lease_until", "attempts"}
    records = ScanRecords(db)
    queue = ScanQueue(records)
    try:
        assert queue.counts() == {"Pending": 2}
        claimed = queue.claim(9e9, limit=10)
        assert sorted(c.digest for c in claimed) == [rows[0][0], rows[1][0]]
        assert {c.repository for c in claimed} == {"app"}
        done = records.get(rows[2][0])
        assert done is not None and done.status == "done"
    finally:
        queue.close()
