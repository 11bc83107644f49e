"""Scheduled maintenance in the server: ``storage.maintenance.fsck`` runs :func:`fsck` every
``interval`` in a background thread of one server process, logging what it finds (and, with
``quarantine: true``, moving corrupt blobs aside as ``dockyard registry fsck --quarantine``)."""

from __future__ import annotations

import logging
import threading

from dockyard.registry._fsck import FsckReport, fsck
from dockyard.registry._registry import Registry

__all__ = ["FsckSchedule"]

log = logging.getLogger("dockyard.registry.fsck")


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
