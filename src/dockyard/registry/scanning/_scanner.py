"""Scanner: queues scans of pushed images and runs each in a separate, limited worker process.

A bounded pool of threads in the server process takes scans from the queue; each thread hands
its scan to a fresh worker process (:mod:`._sandbox`) and waits. The worker reads the image's
layers by path from the registry's own filesystem storage, catalogs its packages within the
scan limits (``limits.scan*``), matches them against the vulnerability database and sends back
the report (the JSON of ``dockyard scan --format json``), stored in the ``scan_reports`` table.
A scan that exceeds a limit, or whose worker dies, is recorded as failed with an error naming
the limit; the thread moves on to the next scan.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dockyard.errors import DockyardError, NotFound, Unsupported
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
from dockyard.registry.scanning._images import scan_target
from dockyard.registry.scanning._job import ScanJob
from dockyard.registry.scanning._records import ScanRecords
from dockyard.registry.scanning._sandbox import ScanWorkers
from dockyard.registry.storage import blob_key
from dockyard.scan import ScanBudget, VulnDB

__all__ = ["Scanner", "scan_budget"]

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


class Scanner:
    """Queues scans (``queue``, ``pushed``) and runs them on ``workers`` threads."""

    def __init__(
        self, registry: Registry, db_path: Path, workers: int, limits: Limits | None = None
    ) -> None:
        self.registry = registry
        self.db_path = db_path
        self.limits = Limits() if limits is None else limits
        self.records = ScanRecords(registry.meta.db)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scan")
        self._workers = ScanWorkers()
        self._closed = threading.Event()
        #: where finished scans are announced (the registry's webhooks)
        self.events: EventSink = NO_EVENTS

    def close(self) -> None:
        """Stop taking work and kill running scan workers; their scans and the queued ones stay
        pending and are queued again at the next start."""
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._workers.close()

    def resume(self) -> int:
        """Queue again the scans a previous process left pending; how many."""
        pending = self.records.pending()
        for digest, repository in pending:
            self._submit(self._scan, digest, repository)
        return len(pending)

    def pushed(self, repository: str, reference: str) -> None:
        """A manifest was pushed (cheap; call it on the event loop): scan what it names."""
        self._submit(self._pushed, repository, reference)

    def queue(self, repository: str, digest: str, *, again: bool = False) -> bool:
        """Scan image ``digest`` unless it has a report (``again``: scan anyway); blocking."""
        if not self.records.queue(digest, repository, again=again):
            return False
        self._submit(self._scan, digest, repository)
        return True

    def _submit(self, fn: Callable[[str, str], None], *args: str) -> None:
        if self._closed.is_set():
            return
        with contextlib.suppress(RuntimeError):  # shut down meanwhile
            self._pool.submit(fn, *args)

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
                if self.records.queue(digest, repository):
                    self._scan(digest, repository)
        except Exception:
            log.exception("cannot queue the scan of %s:%s", repository, reference)

    def _scan(self, digest: str, repository: str) -> None:
        if self._closed.is_set():
            return
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
            outcome = self._workers.run(self._job(digest, repository))
        except DockyardError as exc:
            log.warning("scan of %s@%s failed: %s", repository, digest, exc)
            self._finish(repository, digest, None, str(exc), db_updated, advisories)
            return
        except Exception as exc:
            log.exception("scan of %s@%s failed", repository, digest)
            self._finish(repository, digest, None, f"internal error: {exc}", db_updated, advisories)
            return
        if outcome is None:  # shutting down: left pending, queued again at the next start
            return
        if outcome.error is not None:
            log.warning("scan of %s@%s failed: %s", repository, digest, outcome.error)
            self._finish(repository, digest, None, outcome.error, db_updated, advisories)
            return
        log.info("scanned %s@%s: %s", repository, digest, outcome.summary)
        self._finish(repository, digest, outcome.report_json, None, db_updated, advisories)

    def _open_db(self) -> VulnDB:
        if not self.db_path.is_file():
            raise NotFound(
                f"no vulnerability database at {self.db_path}: import advisories with "
                "`dockyard db import` (or set scanning.db)"
            )
        return VulnDB(self.db_path)

    def _job(self, digest: str, repository: str) -> ScanJob:
        """What a worker needs: the manifest, and the paths of its config and layer blobs."""
        record = self.registry.meta.manifest_by_digest(repository, digest)
        if record is None:
            raise NotFound(f"manifest {digest} is no longer in {repository}")
        if scan_target(record) is None:
            raise NotFound(f"{digest} is not an image (no image config): nothing to scan")
        manifest = parse_manifest_or_index(record.content, record.media_type)
        if not isinstance(manifest, Manifest):
            raise NotFound(f"{digest} is an index, not an image: its images are scanned")
        paths: dict[str, str] = {}
        for desc in (manifest.config, *manifest.layers):
            path = self.registry.storage.local_path(blob_key(desc.digest))
            if path is None:
                raise Unsupported(
                    "scan workers read blobs from the registry's filesystem storage; this "
                    "storage driver has no local files, so scanning is not available with it"
                )
            paths[str(desc.digest)] = str(path)
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
            self.records.finish(
                digest,
                report_json=report_json,
                error=error,
                db_updated_at=db_updated,
                db_advisories=advisories,
            )
        except Exception:
            log.exception("cannot store the scan report of %s", digest)
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
