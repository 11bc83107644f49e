"""Scanner: queues scans of pushed images and runs each in a separate, limited worker process.

Scans are tasks of the registry's one leased job queue (:mod:`._queue`, over ``scan_tasks``):
``workers`` threads of the server process each claim a due scan (one process of all that share
the database gets it), hand it to a fresh worker process (:mod:`._sandbox`) and wait. The
worker reads the image's blobs from files (:mod:`._blobfiles`: the storage's own on the
filesystem, verified copies from S3), catalogs its packages within the scan limits
(``limits.scan*``), matches them against the vulnerability database and sends back the report
(the JSON of ``dockyard scan --format json``), stored in the ``scan_reports`` table in the
transaction that ends the claim. A scan that exceeds a limit, or whose worker dies, is recorded
as failed with an error naming the limit; the thread moves on to the next scan.

A renewal thread extends the leases of the scans running here. A process that dies mid-scan
has its scans taken over by another at its next poll (its owner's liveness lock is free); a
process that stops gives its scans back. Starting claims nothing another process runs, and
queues nothing again: pending scans are simply due.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from dockyard import __version__
from dockyard.errors import DockyardError, NotFound
from dockyard.oci import Manifest, parse_manifest_or_index
from dockyard.registry._names import is_digest
from dockyard.registry._registry import Registry
from dockyard.registry.events import (
    NO_EVENTS,
    SCANNING_COMPLETED,
    SCANNING_FAILED,
    SCANNING_STOPPED,
    Event,
    EventSink,
)
from dockyard.registry.jobs import PollLoop, Ticker
from dockyard.registry.limits import Limits
from dockyard.registry.scanning._blobfiles import BlobFiles
from dockyard.registry.scanning._images import scan_target
from dockyard.registry.scanning._job import ScanJob
from dockyard.registry.scanning._queue import LEASE, RENEW_EVERY, ScanJobClaim, ScanQueue
from dockyard.registry.scanning._records import ScanRecords, scan_reports, scan_tasks
from dockyard.registry.scanning._sandbox import ScanWorkers
from dockyard.scan import ScanBudget, VulnDB

__all__ = ["POLL", "Scanner", "scan_budget"]

#: Seconds between two looks for due scans while idle (a scan queued here wakes the
#: threads at once; one queued by another process, or given back, waits at most this).
POLL = 1.0

#: Seconds between two attempts to store a finished scan's result the database refused.
STORE_RETRY = 1.0

log = logging.getLogger("dockyard.registry.scanning")


def scan_budget(limits: Limits) -> ScanBudget:
    """The size limits of a scan, from the registry's ``limits:`` section."""
    return ScanBudget(
        layer_bytes=limits.scan_layer_bytes,
        file_bytes=limits.scan_file_bytes,
        packages=limits.scan_packages,
    )


#: Harbor's scan_overview key for a vulnerability report.
SCAN_REPORT_TYPE = "application/vnd.security.vulnerability.report; version=1.1"
#: Harbor's severities, worst first, by the report's
_SEVERITIES = {"CRITICAL": "Critical", "HIGH": "High", "MEDIUM": "Medium", "LOW": "Low",
               "UNKNOWN": "Unknown"}  # fmt: skip


def _harbor_time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def event_overview(
    digest: str, report_json: str | None, error: str | None, seconds: float, ended: float
) -> dict[str, object]:
    """The ``scan_overview`` entry of a SCANNING_COMPLETED / SCANNING_FAILED event, as
    Harbor's (NativeReportSummary): status, times, scanner, and for a report its worst
    severity and the counts by severity (``fixable``: those with a fixed version)."""

    overview: dict[str, object] = {
        "report_id": digest,
        "scan_status": "Success" if error is None else "Error",
        "complete_percent": 100,
        "duration": round(seconds),
        "start_time": _harbor_time(ended - seconds),
        "end_time": _harbor_time(ended),
        "scanner": {"name": "dockyard", "vendor": "dockyard", "version": __version__},
    }
    if error is not None:
        overview["message"] = error
        return overview
    try:
        results = json.loads(report_json or "{}").get("Results") or []
    except (ValueError, AttributeError):
        results = []
    counts: dict[str, int] = {}
    fixable = 0
    for r in results:
        if not isinstance(r, dict):
            continue
        level = _SEVERITIES.get(str(r.get("Severity", "")).upper(), "Unknown")
        counts[level] = counts.get(level, 0) + 1
        fixable += bool(r.get("FixedVersion"))
    worst = next((s for s in _SEVERITIES.values() if s in counts), "None")
    overview["severity"] = worst
    overview["summary"] = {"total": sum(counts.values()), "fixable": fixable, "summary": counts}
    return overview


class Scanner:
    """Queues scans (``queue``, ``pushed``) and runs them on ``workers`` threads once
    started; ``lease``: seconds a claim lasts unless renewed (every ``renew`` seconds while
    the scan runs); ``poll``: seconds between two looks for due scans while idle."""

    def __init__(
        self,
        registry: Registry,
        db_path: Path,
        workers: int,
        limits: Limits | None = None,
        *,
        lease: float = LEASE,
        renew: float = RENEW_EVERY,
        poll: float = POLL,
    ) -> None:
        self.registry = registry
        self.db_path = db_path
        self.limits = Limits() if limits is None else limits
        self.records = ScanRecords(registry.meta.db)
        self.tasks = ScanQueue(self.records, lease=lease)
        self.threads = workers
        self._workers = ScanWorkers()
        self._lock = threading.Lock()
        #: pushes not yet turned into scans (``pushed`` runs on the event loop), each with
        #: the condition it is scanned on (asked in a scan thread; None: always)
        self._pushed: list[tuple[str, str, Callable[[], bool] | None]] = []
        #: the claims of the scans running here (renewed; given back when closing)
        self._held: dict[int, ScanJobClaim] = {}
        self._loop = PollLoop(
            self.run_once, names=[f"scan-{n}" for n in range(workers)], poll=poll, log=log,
            what="scanning",
        )  # fmt: skip
        self._renewer = Ticker(
            self._renew, tick=renew, name="scan-renew", log=log,
            failure="scanning: cannot renew the leases of running scans; retrying",
        )  # fmt: skip
        #: where finished scans are announced (the registry's webhooks)
        self.events: EventSink = NO_EVENTS

    @property
    def owner(self) -> str:
        """This process's name on the scan tasks it claims."""
        return self.tasks.owner

    def start(self) -> int:
        """Start the threads that claim and run scans; how many scans are due now (queued
        or given back by a process that stopped, or left by one that died)."""
        waiting = self.tasks.counts().get("Pending", 0)
        self._loop.start()
        self._renewer.start()
        # the owner's name is what the queue's rows and its takeover warnings show
        log.info("scanning: %d thread(s), claiming scans as owner %s", self.threads, self.owner)
        return waiting

    def close(self) -> None:
        """Stop taking work and kill running scan workers; their scans and the queued ones
        stay pending, their claims given back, so that another process (or the next start)
        takes them up at once."""
        self._loop.stopping.set()
        self._workers.close()
        self._loop.close(timeout=5)
        self._renewer.close()
        with self._lock:
            held = list(self._held.values())
        with contextlib.suppress(Exception):
            self.tasks.release(held, time.time())
        with contextlib.suppress(Exception):
            self.dispatch()
        self.tasks.close()

    def wake(self) -> None:
        """Scans were queued (here or by a scan-all): look now rather than at the next poll."""
        self._loop.wake()

    def pushed(
        self, repository: str, reference: str, condition: Callable[[], bool] | None = None
    ) -> None:
        """A manifest was pushed (cheap; call it on the event loop): scan what it names
        (if ``condition()`` says so, asked in a scan thread: it may block)."""
        if self._loop.stopping.is_set():
            return
        with self._lock:
            self._pushed.append((repository, reference, condition))
        self._loop.wake()

    def queue(self, repository: str, digest: str, *, again: bool = False) -> bool:
        """Scan image ``digest`` unless it has a report (``again``: scan anyway); blocking."""
        if not self.records.queue(digest, repository, again=again):
            return False
        self._loop.wake()
        return True

    def dispatch(self) -> int:
        """Queue the scans of the pushes remembered so far; how many were queued."""
        with self._lock:
            pushed, self._pushed = self._pushed, []
        queued = 0
        for repository, reference, condition in pushed:
            try:
                if condition is not None and not condition():
                    continue
                meta = self.registry.meta
                if is_digest(reference):
                    record = meta.manifest_by_digest(repository, reference)
                else:
                    record = meta.manifest_by_tag(repository, reference)
                target = None if record is None else scan_target(record)
                if target is None:
                    continue
                for digest, _platform in target.images:
                    queued += self.records.queue(digest, repository)
            except Exception:
                log.exception("cannot queue the scan of %s:%s", repository, reference)
        return queued

    def run_once(self) -> int:
        """Queue the pushes' scans, then claim one due scan and run it; scans run (0 or 1)."""
        self.dispatch()
        if self._loop.stopping.is_set():
            return 0
        claimed = self.tasks.claim(time.time(), 1)
        for job in claimed:
            self._run(job)
        return len(claimed)

    def _renew(self) -> None:
        with self._lock:
            held = list(self._held.values())
        for job in held:
            if self.tasks.renew(job, time.time()) or not self._holds(job):
                continue
            if self.tasks.stopped(job):
                self.cancel([(job.digest, job.repository)])
            else:
                log.warning(
                    "scan of %s@%s: this process's claim was taken over by another process; "
                    "its result is the one kept",
                    job.repository,
                    job.digest,
                )

    def stop(self, digests: list[str]) -> list[tuple[str, str]] | None:
        """Stop the queued or running scans of images ``digests`` (Harbor's
        ``stopScanArtifact``): their reports turn stopped; the (digest, repository) of each
        scan stopped, None when no digest has a report (it was never scanned)."""
        with self.records.db.write() as conn:
            known = conn.execute(
                select(func.count())
                .select_from(scan_reports)
                .where(scan_reports.c.digest.in_(digests))
            ).scalar_one()
            if not known:
                return None
            stopped = self.records.stop_in(conn, scan_tasks.c.digest.in_(digests), time.time())
        self.stopped(stopped)
        return stopped

    def stopped(self, stopped: list[tuple[str, str]]) -> None:
        """Scans were stopped in the database: kill their workers running here, and announce
        each (Harbor's SCANNING_STOPPED webhook event)."""
        self.cancel(stopped)
        for digest, repository in stopped:
            overview = {"report_id": digest, "scan_status": "Stopped"}
            self.events.publish(
                Event(
                    SCANNING_STOPPED,
                    repository.partition("/")[0] if "/" in repository else "",
                    repository,
                    digest=digest,
                    details={"scan_overview": {SCAN_REPORT_TYPE: overview}},
                )
            )

    def cancel(self, stopped: list[tuple[str, str]]) -> int:
        """Kill this process's workers running the scans of ``stopped`` (digest, repository),
        which were stopped in the database; how many. Other processes running one notice at
        their next renewal."""
        digests = {digest for digest, _ in stopped}
        with self._lock:
            held = [job for job in self._held.values() if job.digest in digests]
        killed = 0
        for job in held:
            if self._workers.cancel(_job_name(job.repository, job.digest)):
                log.info("scan of %s@%s stopped: its worker is killed", job.repository, job.digest)
                killed += 1
        return killed

    def _holds(self, job: ScanJobClaim) -> bool:
        """Whether the scan of ``job`` still runs here (not ended since it was renewed)."""
        with self._lock:
            return job.id in self._held

    def _run(self, job: ScanJobClaim) -> None:
        with self._lock:
            self._held[job.id] = job
        ended = False
        try:
            ended = self._scan_claimed(job)
        finally:
            with self._lock:
                self._held.pop(job.id, None)
            if not ended:  # shutting down: another process may take it at once
                with contextlib.suppress(Exception):
                    self.tasks.release([job], time.time())

    def _scan_claimed(self, claim: ScanJobClaim) -> bool:
        """Run a claimed scan and record its end; False when shutting down interrupted it."""
        repository, digest = claim.repository, claim.digest
        if claim.taken_over:
            log.warning(
                "taking over the scan of %s@%s: the process that held it stopped",
                repository,
                digest,
            )
        log.info("scanning %s@%s", repository, digest)
        started = time.monotonic()
        db_updated: float | None = None
        advisories: int | None = None

        def finish(report_json: str | None, error: str | None) -> bool:
            self._finish(claim, report_json, error, db_updated, advisories,
                         time.monotonic() - started)  # fmt: skip
            return True

        try:
            db = self._open_db()
            try:
                status = db.status()
            finally:
                db.close()
            advisories = int(status["advisories"])
            db_updated = max((s["importedAt"] for s in status["sources"]), default=None)
            if not status["sources"]:
                raise NotFound(
                    f"the vulnerability database {self.db_path} is empty: import advisories "
                    "with `dockyard db import` and scan again"
                )
            limits = self.limits
            with BlobFiles(self.registry.storage, scan_budget(limits), limits.scan_seconds) as f:
                job = self._job(digest, repository, f)
                outcome = self._workers.run(job)
        except DockyardError as exc:
            log.warning("scan of %s@%s failed: %s", repository, digest, exc)
            return finish(None, str(exc))
        except Exception as exc:
            log.exception("scan of %s@%s failed", repository, digest)
            return finish(None, f"internal error: {exc}")
        if outcome is None:  # shutting down: given back, taken up by another process
            return False
        if outcome.stopped:  # stopped in the database: nothing to record
            return True
        if outcome.error is not None:
            log.warning("scan of %s@%s failed: %s", repository, digest, outcome.error)
            return finish(None, outcome.error)
        log.info("scanned %s@%s: %s", repository, digest, outcome.summary)
        return finish(outcome.report_json, None)

    def _open_db(self) -> VulnDB:
        if not self.db_path.is_file():
            raise NotFound(
                f"no vulnerability database at {self.db_path}: import advisories with "
                "`dockyard db import` (or set scanning.db)"
            )
        return VulnDB(self.db_path)

    def _job(self, digest: str, repository: str, files: BlobFiles) -> ScanJob:
        """What a worker needs: the manifest, and files holding its config and layer blobs."""
        record = self.registry.meta.manifest_by_digest(repository, digest)
        if record is None:
            raise NotFound(f"manifest {digest} is no longer in {repository}")
        if scan_target(record) is None:
            raise NotFound(f"{digest} is not an image (no image config): nothing to scan")
        manifest = parse_manifest_or_index(record.content, record.media_type)
        if not isinstance(manifest, Manifest):
            raise NotFound(f"{digest} is an index, not an image: its images are scanned")
        paths = {str(manifest.config.digest): files.path(manifest.config, config=True)}
        for desc in manifest.layers:
            paths[str(desc.digest)] = files.path(desc)
        limits = self.limits
        return ScanJob(
            name=_job_name(repository, digest),
            digest=digest,
            media_type=record.media_type,
            manifest=record.content,
            blob_paths=paths,
            db_path=str(self.db_path),
            budget=scan_budget(limits),
            memory_bytes=limits.scan_memory_bytes,
            cpu_seconds=limits.scan_seconds,
        )

    def _finish(
        self,
        claim: ScanJobClaim,
        report_json: str | None,
        error: str | None,
        db_updated: float | None,
        advisories: int | None,
        seconds: float,
    ) -> None:
        repository, digest = claim.repository, claim.digest
        # the database may be away for a moment (an outage, a failover): the result is kept
        # and stored again every STORE_RETRY seconds while the claim could still be ours
        deadline = time.monotonic() + self.tasks.lease
        failures = 0
        while True:
            try:
                written = self.tasks.finish(
                    claim, report_json=report_json, error=error, db_updated_at=db_updated,
                    db_advisories=advisories, seconds=seconds,
                )  # fmt: skip
                break
            except Exception as exc:
                failures += 1
                if self._loop.stopping.is_set() or time.monotonic() + STORE_RETRY > deadline:
                    # the claim stays this process's until its lease runs out: then another
                    # process (or this one) runs the scan again
                    log.exception("cannot store the scan report of %s@%s", repository, digest)
                    return
                if failures == 1:
                    log.warning(
                        "cannot store the scan report of %s@%s (%s: %s); trying again every "
                        "%g s for up to %.0f s",
                        repository, digest, type(exc).__name__, exc, STORE_RETRY,
                        deadline - time.monotonic(),
                    )  # fmt: skip
                self._loop.stopping.wait(STORE_RETRY)
        if failures:
            log.info("stored the scan report of %s@%s after %d failed attempt(s)",
                     repository, digest, failures)  # fmt: skip
        if not written:
            if self.tasks.stopped(claim):
                log.info("scan of %s@%s was stopped: its result is dropped", repository, digest)
                return
            log.warning(
                "scan of %s@%s ended after another process took it over: its report is the "
                "one kept",
                repository,
                digest,
            )
            return
        # Harbor's SCANNING_COMPLETED / SCANNING_FAILED webhook events
        overview = event_overview(digest, report_json, error, seconds, time.time())
        self.events.publish(
            Event(
                SCANNING_COMPLETED if error is None else SCANNING_FAILED,
                repository.partition("/")[0] if "/" in repository else "",
                repository,
                digest=digest,
                details={"scan_overview": {SCAN_REPORT_TYPE: overview}},
            )
        )


def _job_name(repository: str, digest: str) -> str:
    """The name of a scan's worker job (what :meth:`ScanWorkers.cancel` finds it by)."""
    return f"{repository}@{digest}"
