"""Scheduled maintenance in the server: ``storage.maintenance.fsck`` runs :func:`fsck` every
``interval`` in a background thread of one server process, logging what it finds (and, with
``quarantine: true``, moving corrupt blobs aside as ``dockyard registry fsck --quarantine``).
In ``auth: projects``, :class:`AuditUpkeep` applies the audit log's retention and row limit at
start-up and every hour, in bounded steps."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from dockyard.registry._fsck import FsckReport, fsck
from dockyard.registry._registry import Registry

__all__ = ["AuditUpkeep", "FsckSchedule", "UpkeepRun"]

log = logging.getLogger("dockyard.registry.fsck")
audit_log = logging.getLogger("dockyard.registry.audit")

#: Audit upkeep: every hour; at most ``BATCHES`` deletes of ``BATCH`` rows per run (each its
#: own short transaction); a run that stopped with work left is followed after ``CATCH_UP``.
AUDIT_INTERVAL = 3600.0
BATCH = 5000
BATCHES = 20
CATCH_UP = 60.0


class FsckSchedule:
    """A daemon thread: wait ``interval`` seconds, check every blob, repeat until closed."""

    def __init__(self, registry: Registry, interval: float, *, quarantine: bool) -> None:
        self.registry = registry
        self.interval = interval
        self.quarantine = quarantine
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fsck", daemon=True)

    def start(self) -> FsckSchedule:
        log.info("fsck: every blob checked every %g s", self.interval)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                report = fsck(self.registry, quarantine=self.quarantine)
            except Exception:
                log.exception("fsck failed; it runs again in %g s", self.interval)
                continue
            self.runs += 1
            _log_report(report)


@dataclass(frozen=True, slots=True)
class UpkeepRun:
    """One run: the entries deleted, and whether it stopped with more to delete."""

    deleted: int
    more: bool


class AuditUpkeep:
    """A daemon thread applying the audit log's retention and ``maxrows``: once at start,
    then every ``interval`` seconds (sooner while a bounded run leaves work behind).
    ``purge(limit)`` deletes at most ``limit`` entries and says how many went
    (:meth:`AccessService.purge_audit <dockyard.registry.access.AccessService.purge_audit>`)."""

    def __init__(
        self,
        purge: Callable[[int], int],
        *,
        interval: float = AUDIT_INTERVAL,
        batch: int = BATCH,
        batches: int = BATCHES,
    ) -> None:
        self.purge = purge
        self.interval = interval
        self.batch = batch
        self.batches = batches
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="audit-upkeep", daemon=True)

    def start(self) -> AuditUpkeep:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def run_once(self) -> UpkeepRun:
        """Up to ``batches`` deletes of ``batch`` entries, stopping at the first short one."""
        deleted = 0
        for _ in range(self.batches):
            if self._stop.is_set():
                return UpkeepRun(deleted, True)
            done = self.purge(self.batch)
            deleted += done
            if done < self.batch:
                return UpkeepRun(deleted, False)
        return UpkeepRun(deleted, True)

    def _loop(self) -> None:
        wait = 0.0
        while not self._stop.wait(wait):
            wait = self.interval
            try:
                run = self.run_once()
            except Exception:
                audit_log.exception("audit log upkeep failed; it runs again in %g s", wait)
                continue
            self.runs += 1
            if run.deleted:
                audit_log.info("audit log: %d old entries deleted", run.deleted)
            if run.more:
                wait = min(self.interval, CATCH_UP)


def _log_report(report: FsckReport) -> None:
    summary = (
        f"fsck: {report.blobs_checked} blob(s), {report.bytes_checked} bytes checked in "
        f"{report.seconds:.1f} s"
    )
    if report.ok:
        log.info("%s: no problems", summary)
        return
    log.error(
        "%s: %d corrupt, %d missing, %d dangling link(s); %d quarantined",
        summary,
        len(report.corrupt),
        len(report.missing),
        len(report.dangling),
        len(report.quarantined),
    )
    for bad in report.corrupt:
        where = ", ".join(bad.repositories) or "no repository"
        log.error("fsck: corrupt blob %s (hashes to %s; in %s)", bad.digest, bad.actual, where)
    for missing in report.missing:
        log.error(
            "fsck: %s@%s needs blob %s: %s",
            missing.repository,
            missing.manifest,
            missing.digest,
            missing.reason,
        )
