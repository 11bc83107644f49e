"""Scanner: queues scans of pushed images and runs each in a separate, limited worker process.

A bounded pool of threads in the server process takes scans from the queue; each thread claims
its scan in the database (a lease, :mod:`._records`: one process of all that share the
database runs it), hands it to a fresh worker process (:mod:`._sandbox`) and waits. The worker
reads the image's blobs from files (:mod:`._blobfiles`: the storage's own on the filesystem,
verified copies from S3), catalogs its packages within the scan limits (``limits.scan*``),
matches them against the vulnerability database and sends back the report (the JSON of
``dockyard scan --format json``), stored in the ``scan_reports`` table. A scan that exceeds a
limit, or whose worker dies, is recorded as failed with an error naming the limit; the thread
moves on to the next scan.

A keeper thread renews the leases of the scans running here, and (``sweep``) takes up pending
scans nobody holds: queued by a process that stopped before it claimed them, or claimed by one
that died (its lease ran out). A replica's start-up claims nothing another one is running.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dockyard.errors import DockyardError, NotFound
from dockyard.oci import Manifest, parse_manifest_or_index
from dockyard.registry._names import is_digest
from dockyard.registry._registry import Registry
from dockyard.registry.events import (
    NO_EVENTS,
    SCANNING_COMPLETED,
    SCANNING_FAILED,
    Event,
    EventSink,
)
from dockyard.registry.limits import Limits
from dockyard.registry.scanning._blobfiles import BlobFiles
from dockyard.registry.scanning._images import scan_target
from dockyard.registry.scanning._job import ScanJob
from dockyard.registry.scanning._records import ScanRecords
from dockyard.registry.scanning._sandbox import ScanWorkers
from dockyard.scan import ScanBudget, VulnDB

__all__ = ["LEASE_SECONDS", "Scanner", "scan_budget"]

#: how long a claim on a scan lasts unless renewed (``scanning.lease-seconds``)
LEASE_SECONDS = 30.0

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


def _owner() -> str:
    """This process's name on the scans it claims: host, pid and a nonce (a restarted process
    with a recycled pid holds nothing of its predecessor's)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class Scanner:
    """Queues scans (``queue``, ``pushed``) and runs them on ``workers`` threads; ``lease``:
    seconds a claim lasts unless renewed (renewed every third of it while the scan runs)."""

    def __init__(
        self,
        registry: Registry,
        db_path: Path,
        workers: int,
        limits: Limits | None = None,
        *,
        lease: float = LEASE_SECONDS,
    ) -> None:
        self.registry = registry
        self.db_path = db_path
        self.limits = Limits() if limits is None else limits
        self.records = ScanRecords(registry.meta.db)
        self.lease = lease
        #: this process's name on the rows it claims
        self.owner = _owner()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scan")
        self._workers = ScanWorkers()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        #: digests queued or running in this process (not queued here twice)
        self._local: set[str] = set()
        #: digests whose lease this process holds (renewed by the keeper)
        self._held: set[str] = set()
        self._keeper: threading.Thread | None = None
        #: where finished scans are announced (the registry's webhooks)
        self.events: EventSink = NO_EVENTS

    def close(self) -> None:
        """Stop taking work and kill running scan workers; their scans and the queued ones stay
        pending, their leases given back, so that another process (or the next start) takes
        them up at once."""
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._workers.close()
        with self._lock:
            held = list(self._held)
        for digest in held:
            with contextlib.suppress(Exception):
                self.records.release(digest, self.owner)
        keeper = self._keeper
        if keeper is not None and keeper is not threading.current_thread():
            keeper.join(5)

    def start(self, *, sweep: bool = True) -> int:
        """Start the keeper thread; with ``sweep``, it takes up pending scans nobody holds
        (now, and every third of a lease). How many were taken up now."""
        taken = self.sweep() if sweep else 0
        self._keeper = threading.Thread(
            target=self._keep, args=(sweep,), name="scan-leases", daemon=True
        )
        self._keeper.start()
        return taken

    def sweep(self) -> int:
        """Queue here the pending scans nobody holds; how many (each is still claimed before
        it runs: another process sweeping at the same time runs the others)."""
        due = self.records.due(time.time())
        return sum(self._submit(digest, repository) for digest, repository in due)

    def pushed(self, repository: str, reference: str) -> None:
        """A manifest was pushed (cheap; call it on the event loop): scan what it names."""
        if self._closed.is_set():
            return
        with contextlib.suppress(RuntimeError):  # shut down meanwhile
            self._pool.submit(self._pushed, repository, reference)

    def queue(self, repository: str, digest: str, *, again: bool = False) -> bool:
        """Scan image ``digest`` unless it has a report (``again``: scan anyway); blocking."""
        if not self.records.queue(digest, repository, again=again):
            return False
        self._submit(digest, repository)
        return True

    def _take(self, digest: str) -> bool:
        with self._lock:
            if digest in self._local:
                return False
            self._local.add(digest)
            return True

    def _drop(self, digest: str) -> None:
        with self._lock:
            self._local.discard(digest)

    def _submit(self, digest: str, repository: str) -> bool:
        if self._closed.is_set() or not self._take(digest):
            return False
        try:
            self._pool.submit(self._run, digest, repository)
        except RuntimeError:  # shut down meanwhile
            self._drop(digest)
            return False
        return True

    def _run(self, digest: str, repository: str) -> None:
        try:
            self._scan(digest, repository)
        except Exception:  # the database went away: the scan stays pending for a sweep
            log.exception("cannot run the scan of %s@%s", repository, digest)
        finally:
            self._drop(digest)

    def _pushed(self, repository: str, reference: str) -> None:
        try:
            meta = self.registry.meta
            if is_digest(reference):
                record = meta.manifest_by_digest(repository, reference)
            else:
                record = meta.manifest_by_tag(repository, reference)
            target = None if record is None else scan_target(record)
            if target is None:
                return
            for digest, _platform in target.images:
                if self.records.queue(digest, repository) and self._take(digest):
                    self._run(digest, repository)
        except Exception:
            log.exception("cannot queue the scan of %s:%s", repository, reference)

    def _keep(self, sweep: bool) -> None:
        """The keeper thread: renews this process's leases, then (``sweep``) takes up due
        scans; a database that does not answer is tried again at the next round."""
        interval = max(0.2, self.lease / 3)
        while not self._closed.wait(interval):
            try:
                with self._lock:
                    held = sorted(self._held)
                for digest in self.records.renew(held, self.owner, self.lease, time.time()):
                    log.warning(
                        "scan of %s: this process's lease ran out and another process took "
                        "the scan over; its result is the one kept",
                        digest,
                    )
                if sweep:
                    self.sweep()
            except Exception as exc:
                log.warning("scanning: cannot renew or take up scans (%s); retrying", exc)

    def _scan(self, digest: str, repository: str) -> None:
        if self._closed.is_set():
            return
        claim = self.records.claim(digest, self.owner, self.lease, time.time())
        if not claim:
            return  # finished meanwhile, or another process runs it
        if claim > 1:
            log.warning(
                "taking over the scan of %s@%s (claim %d): the process that held it stopped "
                "renewing its lease",
                repository,
                digest,
                claim,
            )
        with self._lock:
            self._held.add(digest)
        ended = False
        try:
            ended = self._scan_claimed(digest, repository)
        finally:
            with self._lock:
                self._held.discard(digest)
            if not ended:  # shutting down: another process may take it at once
                with contextlib.suppress(Exception):
                    self.records.release(digest, self.owner)

    def _scan_claimed(self, digest: str, repository: str) -> bool:
        """Run a claimed scan and record its end; False when shutting down interrupted it."""
        log.info("scanning %s@%s", repository, digest)
        db_updated: float | None = None
        advisories: int | None = None
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
            self._finish(repository, digest, None, str(exc), db_updated, advisories)
            return True
        except Exception as exc:
            log.exception("scan of %s@%s failed", repository, digest)
            self._finish(repository, digest, None, f"internal error: {exc}", db_updated, advisories)
            return True
        if outcome is None:  # shutting down: left pending, taken up by another process
            return False
        if outcome.error is not None:
            log.warning("scan of %s@%s failed: %s", repository, digest, outcome.error)
            self._finish(repository, digest, None, outcome.error, db_updated, advisories)
            return True
        log.info("scanned %s@%s: %s", repository, digest, outcome.summary)
        self._finish(repository, digest, outcome.report_json, None, db_updated, advisories)
        return True

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
            name=f"{repository}@{digest}",
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
        repository: str,
        digest: str,
        report_json: str | None,
        error: str | None,
        db_updated: float | None,
        advisories: int | None,
    ) -> None:
        try:
            written = self.records.finish(
                digest,
                report_json=report_json,
                error=error,
                db_updated_at=db_updated,
                db_advisories=advisories,
                owner=self.owner,
            )
        except Exception:
            log.exception("cannot store the scan report of %s", digest)
            return
        if not written:
            log.warning(
                "scan of %s@%s ended after this process's lease ran out: another process "
                "took it over, and its report is the one kept",
                repository,
                digest,
            )
            return
        # Harbor's SCANNING_COMPLETED / SCANNING_FAILED webhook events
        status = "Success" if error is None else "Error"
        overview: dict[str, object] = {"report_id": digest, "scan_status": status}
        if error is not None:
            overview["message"] = error
        self.events.publish(
            Event(
                SCANNING_COMPLETED if error is None else SCANNING_FAILED,
                repository.partition("/")[0] if "/" in repository else "",
                repository,
                digest=digest,
                details={"scan_overview": {SCAN_REPORT_TYPE: overview}},
            )
        )
