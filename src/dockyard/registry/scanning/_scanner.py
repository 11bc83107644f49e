"""Scanner: scans pushed images in a bounded pool of worker threads in the server process.

A scan reads the image's layers from the registry's own storage (:class:`RegistryBlobs`),
catalogs its packages, matches them against the vulnerability database and stores the report
(the JSON of ``dockyard scan --format json``) in the ``scan_reports`` table.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dockyard.digest import Digest
from dockyard.errors import DockyardError, NotFound
from dockyard.image import BlobImage
from dockyard.oci import Descriptor
from dockyard.registry._names import is_digest
from dockyard.registry._registry import Registry
from dockyard.registry.scanning._blobs import RegistryBlobs
from dockyard.registry.scanning._images import scan_target
from dockyard.registry.scanning._records import ScanRecords
from dockyard.scan import Report, VulnDB, catalog_source, image_source, match_inventory

__all__ = ["Scanner"]

log = logging.getLogger("dockyard.registry.scanning")


class Scanner:
    """Queues scans (``queue``, ``pushed``) and runs them on ``workers`` threads."""

    def __init__(self, registry: Registry, db_path: Path, workers: int) -> None:
        self.registry = registry
        self.db_path = db_path
        self.records = ScanRecords(registry.meta.db)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scan")
        self._closed = threading.Event()

    def close(self) -> None:
        """Stop taking work; queued scans stay pending and are queued again at the next start."""
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

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
                advisories = int(status["advisories"])
                db_updated = max((s["importedAt"] for s in status["sources"]), default=None)
                if not status["sources"]:
                    raise NotFound(
                        f"the vulnerability database {self.db_path} is empty: import advisories "
                        "with `dockyard db import` and scan again"
                    )
                report = self._report(db, digest, repository)
            finally:
                db.close()
        except DockyardError as exc:
            log.warning("scan of %s@%s failed: %s", repository, digest, exc)
            self._finish(digest, None, str(exc), db_updated, advisories)
            return
        except Exception as exc:
            log.exception("scan of %s@%s failed", repository, digest)
            self._finish(digest, None, f"internal error: {exc}", db_updated, advisories)
            return
        log.info("scanned %s@%s: %s", repository, digest, report["Summary"])
        self._finish(digest, report, None, db_updated, advisories)

    def _open_db(self) -> VulnDB:
        if not self.db_path.is_file():
            raise NotFound(
                f"no vulnerability database at {self.db_path}: import advisories with "
                "`dockyard db import` (or set scanning.db)"
            )
        return VulnDB(self.db_path)

    def _report(self, db: VulnDB, digest: str, repository: str) -> dict[str, object]:
        record = self.registry.meta.manifest_by_digest(repository, digest)
        if record is None:
            raise NotFound(f"manifest {digest} is no longer in {repository}")
        if scan_target(record) is None:
            raise NotFound(f"{digest} is not an image (no image config): nothing to scan")
        desc = Descriptor(record.media_type, Digest.parse(digest), len(record.content))
        image = BlobImage(RegistryBlobs(self.registry, repository), desc, record.content)
        with image_source("registry", f"{repository}@{digest}", image) as source:
            inventory = catalog_source(source)
        findings = match_inventory(db, inventory.packages, inventory.distro)
        return Report(inventory, findings).filtered(None, set(), False).to_json()

    def _finish(
        self,
        digest: str,
        report: dict[str, object] | None,
        error: str | None,
        db_updated: float | None,
        advisories: int | None,
    ) -> None:
        try:
            self.records.finish(
                digest,
                report=report,
                error=error,
                db_updated_at=db_updated,
                db_advisories=advisories,
            )
        except Exception:
            log.exception("cannot store the scan report of %s", digest)
