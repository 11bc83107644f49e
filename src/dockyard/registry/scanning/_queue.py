"""The scan queue: ``scan_tasks`` (:mod:`._records`) as a
:class:`~dockyard.registry.jobs.LeasedQueue`, with owners' liveness, as webhook deliveries
and replication copies are. A task is claimed by one process of all that share the database;
its report is written in the transaction that finishes the claim, and only while the claim is
still this process's; a process that dies mid-scan has its task taken over by another at the
next poll (its liveness lock is free), and one that stops gives its claims back."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select

from dockyard.registry import jobs
from dockyard.registry.metadata import Database
from dockyard.registry.scanning._records import STOPPED, ScanRecords, scan_reports, scan_tasks

__all__ = ["LEASE", "ScanJobClaim", "ScanQueue"]

#: Seconds a claim lasts unless renewed (renewed every :data:`RENEW_EVERY` while the scan
#: runs). A claim of a process that died is taken over at once where the database tells the
#: owners' liveness (SQLite's lock files, PostgreSQL's advisory locks): the lease only bounds
#: a process that is alive but stuck, or a database that cannot tell.
LEASE = 300.0
RENEW_EVERY = 30.0

log = logging.getLogger("dockyard.registry.scanning")


@dataclass(frozen=True, slots=True)
class ScanJobClaim(jobs.Held):
    """A claimed scan: the image's digest and the repository its blobs are read from."""

    execution_id: int
    digest: str
    repository: str
    #: another process had started it (it died, or its lease ran out)
    taken_over: bool = False


class ScanQueue(jobs.FeatureQueue):
    """Claiming, renewing, finishing and giving back scan tasks."""

    def __init__(self, records: ScanRecords, *, lease: float = LEASE) -> None:
        self.records = records
        self.db: Database = records.db
        super().__init__(jobs.LeasedQueue(
            self.db, scan_tasks, lease=lease, what="scans", log=log, owners="scan-owner",
            log_chars=4096,
        ))  # fmt: skip

    def claim(self, now: float, limit: int = 1) -> list[ScanJobClaim]:
        """Up to ``limit`` due scans, leased to this process in one transaction (a task whose
        process died, or whose lease ran out, is due again)."""
        return [
            ScanJobClaim(**ScanJobClaim.fields(c), execution_id=int(c.row.execution_id),
                         digest=str(c.row.digest), repository=str(c.row.repository),
                         taken_over=float(c.row.start_time) < now)
            for c in self.leases.claim(now, limit)
        ]  # fmt: skip

    def renew(self, job: ScanJobClaim, now: float) -> bool:
        """Extend a claim's lease (a long scan); False when the task is no longer ours."""
        return self.leases.renew(job, now)

    def stopped(self, job: ScanJobClaim) -> bool:
        """Whether ``job``'s scan was stopped: its task Stopped, or gone (a scan of its own is
        deleted when stopped, and when finished by a process that took it over) with its
        report stopped."""
        with self.db.read() as conn:
            status = conn.execute(
                select(scan_tasks.c.status).where(scan_tasks.c.id == job.id)
            ).scalar()
            if status is None:
                status = conn.execute(
                    select(scan_reports.c.status).where(scan_reports.c.digest == job.digest)
                ).scalar()
        return status in (jobs.STOPPED, STOPPED)

    def release(self, claimed: Sequence[ScanJobClaim], now: float) -> None:
        """Give back scans not finished (a stopping process): due again at once, anywhere."""
        self.leases.release(claimed, now)

    def finish(
        self,
        job: ScanJobClaim,
        *,
        report_json: str | None,
        error: str | None,
        db_updated_at: float | None,
        db_advisories: int | None,
        seconds: float,
    ) -> bool:
        """Record a scan's end — its task and its report, in one transaction — while the
        claim is this process's; whether it was (False: another process took it over, or the
        scan was asked for again meanwhile, and its result is the one kept)."""
        now = time.time()
        message = error or "done"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        line = f"{stamp} {job.repository}@{job.digest}: {message} ({seconds:.3f} s)\n"
        outcome = jobs.Outcome(job, error is None, message, line, None)
        with self.db.write() as conn:
            if not self.leases.finish_in(conn, outcome, now):
                return False
            self.records.finish(
                job.digest, report_json=report_json, error=error, db_updated_at=db_updated_at,
                db_advisories=db_advisories, conn=conn,
            )  # fmt: skip
            if job.execution_id == 0:  # the report is its record
                conn.execute(delete(scan_tasks).where(scan_tasks.c.id == job.id))
        return True
