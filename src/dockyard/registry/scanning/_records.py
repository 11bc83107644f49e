"""Scan reports in the registry's SQL database, one row per image manifest digest, and the
scan queue.

A report belongs to content, not to a repository: the same digest pushed to two repositories
is scanned once. ``status`` is ``pending`` (queued or running), ``done``, ``failed`` or
``stopped`` (stopped before it finished: Harbor's ``stopScanArtifact`` and ``stopScanAll``;
a report kept from an earlier scan stays, as for a failed one).

Each pending report has one task in ``scan_tasks``, queued in the transaction that made the
report pending: the registry's one leased task queue (:mod:`dockyard.registry.jobs`) runs
them. Several registry processes (the workers of one server, the replicas of a cluster) share
the tables; a process claims a task before it scans (a lease, renewed while the scan runs),
and records the report in the transaction that finishes its claim — only while the claim is
still its own. A process that dies mid-scan holds its owner's liveness lock no longer, so
another process takes the task over at its next poll (a second or so), not when the lease
runs out. A finished scan's task is deleted: the report is its record. A stopped scan's
task is Stopped (a scan-all's, kept for the run's metrics) or deleted (a scan of its own), in
the transaction that marks its report stopped; a process still running it is refused its
result (its claim is gone) and kills its worker (:class:`._scanner.Scanner`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from dockyard.registry import jobs
from dockyard.registry.jobs import task_columns
from dockyard.registry.metadata import Database

__all__ = [
    "DONE",
    "FAILED",
    "PENDING",
    "STOPPED",
    "ScanRecord",
    "ScanRecords",
    "scan_all_schedule",
    "scan_executions",
    "scan_reports",
    "scan_tasks",
]

PENDING, DONE, FAILED, STOPPED = "pending", "done", "failed", "stopped"

_metadata = MetaData()

scan_reports = Table(
    "scan_reports",
    _metadata,
    Column("digest", String(200), primary_key=True),
    #: the repository the scan read the blobs from (any repository holding it would do)
    Column("repository", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("queued_at", Float, nullable=False),
    Column("finished_at", Float),
    Column("error", Text),
    #: when the newest source of the vulnerability database was imported
    Column("db_updated_at", Float),
    Column("db_advisories", Integer),
    #: the report (the JSON of ``dockyard scan --format json``)
    Column("report", Text),
)

scan_tasks = Table(
    "scan_tasks",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    #: 0: a scan of its own (on push, asked for, a pull's); else its scan-all run's
    #: (``scan_executions``; such tasks are kept for the run's metrics)
    Column("execution_id", Integer, nullable=False, default=0),
    Column("digest", String(200), nullable=False),
    Column("repository", String(255), nullable=False),
    *task_columns(),
    Index("ix_scan_tasks_due", "status", "next_time"),
    Index("ix_scan_tasks_digest", "digest"),
)


#: Harbor's scan-all: one run over every image (its tasks are ``scan_tasks`` rows with its id)
scan_executions = Table(
    "scan_executions",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    #: Manual or Schedule (Harbor's scan-all triggers)
    Column("trigger", String(16), nullable=False),
    Column("start_time", Float, nullable=False),
)

#: Harbor's scan-all schedule: one row (id 1) while one is set
scan_all_schedule = Table(
    "scan_all_schedule",
    _metadata,
    Column("id", Integer, primary_key=True),
    #: Hourly, Daily, Weekly or Custom
    Column("type", String(16), nullable=False),
    Column("cron", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    #: the last firing a process claimed (each firing starts one run across the replicas)
    Column("fired_at", Float, nullable=False),
)


@dataclass(frozen=True, slots=True)
class ScanRecord:
    digest: str
    repository: str
    status: str
    queued_at: float
    finished_at: float | None
    error: str | None
    db_updated_at: float | None
    db_advisories: int | None
    report: dict[str, Any] | None


class ScanRecords:
    """Reads and writes the ``scan_reports`` table and queues scans in ``scan_tasks``
    (created when missing)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.create_tables(_metadata)

    def get(self, digest: str) -> ScanRecord | None:
        with self.db.read() as conn:
            row = conn.execute(select(scan_reports).where(scan_reports.c.digest == digest)).first()
        if row is None:
            return None
        return ScanRecord(
            row.digest,
            row.repository,
            row.status,
            row.queued_at,
            row.finished_at,
            row.error,
            row.db_updated_at,
            row.db_advisories,
            None if row.report is None else json.loads(row.report),
        )

    def queue_in(
        self, conn: Connection, digest: str, repository: str, execution_id: int, now: float
    ) -> bool:
        """In the caller's write transaction: mark ``digest`` pending (again) and queue its
        task for scan-all run ``execution_id``; False when it is pending already."""
        values = {"repository": repository, "status": PENDING, "queued_at": now,
                  "finished_at": None, "error": None}  # fmt: skip
        exists = conn.execute(
            select(scan_reports.c.status).where(scan_reports.c.digest == digest)
        ).first()
        if exists is None:
            conn.execute(scan_reports.insert().values(digest=digest, **values))
        elif (
            exists.status == PENDING
            or not conn.execute(
                update(scan_reports)
                .where(scan_reports.c.digest == digest, scan_reports.c.status != PENDING)
                .values(values)
            ).rowcount
        ):
            return False
        conn.execute(
            scan_tasks.insert().values(
                execution_id=execution_id, digest=digest, repository=repository,
                max_attempts=1, backoff=0.0, **jobs.new_task(now),
            )
        )  # fmt: skip
        return True

    def queue(self, digest: str, repository: str, *, again: bool = False) -> bool:
        """Mark ``digest`` pending and queue its scan task, in one transaction; False when it
        already has a row (and ``again`` is False), or is pending already (queued or running,
        here or in another process). A scan of its own has one attempt: one that fails is
        reported failed (asked for again, it runs again); one whose process died is taken
        over, not counted as an attempt."""
        with self.db.read() as conn:  # a report's GET asks this each time: no write for it
            found = conn.execute(
                select(scan_reports.c.status).where(scan_reports.c.digest == digest)
            ).first()
        if found is not None and (not again or found.status == PENDING):
            return False
        try:
            with self.db.write() as conn:
                exists = conn.execute(
                    select(scan_reports.c.status).where(scan_reports.c.digest == digest)
                ).first()
                if exists is not None and not again:
                    return False
                return self.queue_in(conn, digest, repository, 0, time.time())
        except IntegrityError:  # another process inserted it meanwhile: it is queued
            return False

    def finish(
        self,
        digest: str,
        *,
        report: dict[str, Any] | None = None,
        report_json: str | None = None,
        error: str | None,
        db_updated_at: float | None,
        db_advisories: int | None,
        conn: Connection | None = None,
    ) -> None:
        """Record the end of a scan: ``failed`` with ``error``, else ``done`` with the report
        (a document, or its JSON text as a scan worker sent it). ``conn``: the write
        transaction that finished the scan's claim (:class:`._queue.ScanQueue`); without it,
        a result recorded from outside the queue, which drops the digest's queued task."""
        if report is not None:
            report_json = json.dumps(report)
        statement = (
            update(scan_reports)
            .where(scan_reports.c.digest == digest)
            .values(
                status=FAILED if error is not None else DONE,
                finished_at=time.time(),
                error=error,
                db_updated_at=db_updated_at,
                db_advisories=db_advisories,
                report=report_json,
            )
        )
        if conn is not None:
            conn.execute(statement)
            return
        with self.db.write() as own:
            own.execute(statement)
            own.execute(
                delete(scan_tasks).where(
                    scan_tasks.c.digest == digest, scan_tasks.c.execution_id == 0
                )
            )

    def stop_in(
        self, conn: Connection, which: ColumnElement[bool], now: float
    ) -> list[tuple[str, str]]:
        """In the caller's write transaction: stop the scan tasks matching ``which`` that are
        queued or running, and mark their reports stopped; the (digest, repository) of each
        scan stopped. A process running one of them can no longer record its result."""
        t = scan_tasks
        active = and_(which, t.c.status.in_((jobs.PENDING, jobs.RUNNING)))
        stopped = [(str(r.digest), str(r.repository))
                   for r in conn.execute(select(t.c.digest, t.c.repository).where(active))]  # fmt: skip
        if not stopped:
            return []
        conn.execute(
            update(scan_reports)
            .where(scan_reports.c.digest.in_(select(t.c.digest).where(active)),
                   scan_reports.c.status == PENDING)
            .values(status=STOPPED, finished_at=now, error="stopped before it finished")
        )  # fmt: skip
        # a scan of its own: the report is its record; a scan-all's: kept for the metrics
        conn.execute(delete(t).where(active, t.c.execution_id == 0))
        conn.execute(
            t.update()
            .where(active)
            .values(status=jobs.STOPPED, status_message="stopped", lease_owner="",
                    lease_until=0.0, end_time=now, update_time=now)
        )  # fmt: skip
        return stopped
