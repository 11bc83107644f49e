"""Scan reports in the registry's SQL database, one row per image manifest digest.

A report belongs to content, not to a repository: the same digest pushed to two repositories
is scanned once. ``status`` is ``pending`` (queued or running), ``done`` or ``failed``.

Several registry processes (the workers of one server, the replicas of a cluster) share the
table, and each pending scan runs in one of them: a process *claims* a row before it scans —
one compare-and-set ``UPDATE`` that sets ``lease_owner`` and ``lease_until`` only where the
row is pending and its lease is free or ran out — renews the lease while the scan runs, and
finishes only a row it still holds. A process that dies mid-scan stops renewing; when its
lease runs out the row is due again and another process claims it. ``attempts`` counts the
claims of the current request (reset when a scan is queued again). Leases are wall-clock
times compared across machines: replicas keep their clocks in step (NTP), as for webhook
deliveries' leases.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from dockyard.registry.metadata import Database

__all__ = ["ScanRecord", "ScanRecords"]

PENDING, DONE, FAILED = "pending", "done", "failed"

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
    #: the process running the scan (see the module's docstring), and until when
    Column("lease_owner", String(64)),
    Column("lease_until", Float),
    #: how many times the pending scan was claimed (1 unless its first runner died)
    Column("attempts", Integer, nullable=False, server_default=text("0")),
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
    lease_owner: str | None = None
    lease_until: float | None = None
    attempts: int = 0


def _due(now: float) -> Any:
    """Pending, and nobody's lease runs (never claimed, given back, or its holder died)."""
    return and_(
        scan_reports.c.status == PENDING,
        or_(scan_reports.c.lease_until.is_(None), scan_reports.c.lease_until < now),
    )


class ScanRecords:
    """Reads and writes the ``scan_reports`` table (created when missing)."""

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
            row.lease_owner,
            row.lease_until,
            row.attempts,
        )

    def queue(self, digest: str, repository: str, *, again: bool = False) -> bool:
        """Mark ``digest`` pending; False when it already has a row (and ``again`` is False),
        or is pending already (queued or running, here or in another process)."""
        values = {
            "repository": repository,
            "status": PENDING,
            "queued_at": time.time(),
            "finished_at": None,
            "error": None,
            "lease_owner": None,
            "lease_until": None,
            "attempts": 0,
        }
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
                if exists is None:
                    conn.execute(scan_reports.insert().values(digest=digest, **values))
                    return True
                if not again or exists.status == PENDING:
                    return False
                done = conn.execute(
                    update(scan_reports)
                    .where(scan_reports.c.digest == digest, scan_reports.c.status != PENDING)
                    .values(values)
                )
                return bool(done.rowcount)
        except IntegrityError:  # another process inserted it meanwhile: it is queued
            return False

    def claim(self, digest: str, owner: str, lease: float, now: float) -> int:
        """Lease the pending scan of ``digest`` to ``owner`` until ``now + lease``: for exactly
        one of several processes asking at once, the number of this claim (1: the first; more:
        taken over from a holder whose lease ran out); 0 when not pending, or held."""
        with self.db.write() as conn:
            # the condition is checked again on the row another writer just committed
            # (PostgreSQL's READ COMMITTED update rule; SQLite writes one at a time)
            done = conn.execute(
                update(scan_reports)
                .where(scan_reports.c.digest == digest, _due(now))
                .values(
                    lease_owner=owner,
                    lease_until=now + lease,
                    attempts=scan_reports.c.attempts + 1,
                )
            )
            if not done.rowcount:
                return 0
            return int(
                conn.execute(
                    select(scan_reports.c.attempts).where(scan_reports.c.digest == digest)
                ).scalar_one()
            )

    def renew(self, digests: list[str], owner: str, lease: float, now: float) -> list[str]:
        """Extend ``owner``'s leases on ``digests``; the ones it no longer holds."""
        if not digests:
            return []
        with self.db.write() as conn:
            conn.execute(
                update(scan_reports)
                .where(
                    scan_reports.c.digest.in_(digests),
                    scan_reports.c.status == PENDING,
                    scan_reports.c.lease_owner == owner,
                )
                .values(lease_until=now + lease)
            )
            held = conn.execute(
                select(scan_reports.c.digest).where(
                    scan_reports.c.digest.in_(digests),
                    scan_reports.c.status == PENDING,
                    scan_reports.c.lease_owner == owner,
                )
            )
            kept = {str(r[0]) for r in held}
        return [d for d in digests if d not in kept]

    def release(self, digest: str, owner: str) -> None:
        """Give back ``owner``'s lease on a scan it stops without finishing (shutting down):
        another process may claim it at once."""
        with self.db.write() as conn:
            conn.execute(
                update(scan_reports)
                .where(
                    scan_reports.c.digest == digest,
                    scan_reports.c.status == PENDING,
                    scan_reports.c.lease_owner == owner,
                )
                .values(lease_until=None)
            )

    def due(self, now: float, limit: int = 64) -> list[tuple[str, str]]:
        """(digest, repository) of pending scans nobody holds, oldest first: to claim."""
        with self.db.read() as conn:
            q = (
                select(scan_reports.c.digest, scan_reports.c.repository)
                .where(_due(now))
                .order_by(scan_reports.c.queued_at)
                .limit(limit)
            )
            return [(r[0], r[1]) for r in conn.execute(q)]

    def finish(
        self,
        digest: str,
        *,
        report: dict[str, Any] | None = None,
        report_json: str | None = None,
        error: str | None,
        db_updated_at: float | None,
        db_advisories: int | None,
        owner: str | None = None,
    ) -> bool:
        """Record the end of a scan: ``failed`` with ``error``, else ``done`` with the report
        (a document, or its JSON text as a scan worker sent it). With ``owner``, only while
        ``owner`` holds the pending scan's lease; whether the row was written."""
        if report is not None:
            report_json = json.dumps(report)
        held = (
            ()
            if owner is None
            else (scan_reports.c.status == PENDING, scan_reports.c.lease_owner == owner)
        )
        with self.db.write() as conn:
            done = conn.execute(
                update(scan_reports)
                .where(scan_reports.c.digest == digest, *held)
                .values(
                    status=FAILED if error is not None else DONE,
                    finished_at=time.time(),
                    error=error,
                    db_updated_at=db_updated_at,
                    db_advisories=db_advisories,
                    report=report_json,
                    lease_owner=None,
                    lease_until=None,
                )
            )
            return bool(done.rowcount)
