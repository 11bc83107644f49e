"""Scan reports in the registry's SQL database, one row per image manifest digest.

A report belongs to content, not to a repository: the same digest pushed to two repositories
is scanned once. ``status`` is ``pending`` (queued or running), ``done`` or ``failed``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, select, update

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
        )

    def queue(self, digest: str, repository: str, *, again: bool = False) -> bool:
        """Mark ``digest`` pending; False when it already has a row (and ``again`` is False)."""
        with self.db.write() as conn:
            exists = conn.execute(
                select(scan_reports.c.status).where(scan_reports.c.digest == digest)
            ).first()
            values = {
                "repository": repository,
                "status": PENDING,
                "queued_at": time.time(),
                "finished_at": None,
                "error": None,
            }
            if exists is None:
                conn.execute(scan_reports.insert().values(digest=digest, **values))
                return True
            if not again or exists.status == PENDING:
                return False
            conn.execute(update(scan_reports).where(scan_reports.c.digest == digest).values(values))
            return True

    def finish(
        self,
        digest: str,
        *,
        report: dict[str, Any] | None = None,
        report_json: str | None = None,
        error: str | None,
        db_updated_at: float | None,
        db_advisories: int | None,
    ) -> None:
        """Record the end of a scan: ``failed`` with ``error``, else ``done`` with the report
        (a document, or its JSON text as a scan worker sent it)."""
        if report is not None:
            report_json = json.dumps(report)
        with self.db.write() as conn:
            conn.execute(
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

    def pending(self) -> list[tuple[str, str]]:
        """(digest, repository) of every pending scan (to queue again after a restart); failed
        scans are not among them: they stay failed until a scan is asked for again."""
        with self.db.read() as conn:
            q = select(scan_reports.c.digest, scan_reports.c.repository).where(
                scan_reports.c.status == PENDING
            )
            return [(r[0], r[1]) for r in conn.execute(q)]
