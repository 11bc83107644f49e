"""Harbor's scan-all: one run (a ``scan_executions`` row) queues a scan of every image the
registry holds, as tasks of the scan queue carrying the run's id; the latest run's tasks are
its metrics (Harbor's ``Stats``). Runs start by hand (``Manual``) or from the one cron
schedule (``Schedule``), fired through :class:`~dockyard.registry.jobs.CronSchedule`: each
firing is claimed, and its run queued, in one transaction, so the replicas sharing the
database start it once. All but the newest :data:`KEEP` runs are deleted, with their tasks,
when a run starts (the reports stay)."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, select

from dockyard.errors import Conflict, InvalidArgument
from dockyard.registry._registry import Registry
from dockyard.registry.jobs import PENDING, RUNNING, CronSchedule, next_fire
from dockyard.registry.jobs import schedule_cron as jobs_schedule_cron
from dockyard.registry.metadata import ManifestRecord
from dockyard.registry.metadata._schema import manifests, repositories
from dockyard.registry.scanning._images import scan_target
from dockyard.registry.scanning._records import (
    scan_all_schedule,
    scan_executions,
    scan_tasks,
)
from dockyard.registry.scanning._scanner import Scanner

__all__ = ["KEEP", "SCHEDULE_TYPES", "ScanAll", "ScanAllSchedule", "scan_all_of"]

log = logging.getLogger("dockyard.registry.scanning")

#: Harbor's schedule types that repeat, and the crons of its presets (seconds first)
SCHEDULE_TYPES = ("Hourly", "Daily", "Weekly", "Custom")
#: scan-all runs kept with their tasks (the newest)
KEEP = 10
#: manifests read per query when a run lists the registry's images
PAGE = 500
#: seconds between looks at the schedule
TICK = 5.0

_SERVICES: weakref.WeakKeyDictionary[Registry, ScanAll] = weakref.WeakKeyDictionary()
_SERVICES_LOCK = threading.Lock()


def scan_all_of(registry: Registry) -> ScanAll | None:
    """The scan-all of ``registry``'s scanning (None: scanning is not configured)."""
    with _SERVICES_LOCK:
        return _SERVICES.get(registry)


@dataclass(frozen=True, slots=True)
class ScanAllSchedule:
    type: str
    cron: str
    created_at: float
    updated_at: float


def schedule_cron(kind: str, cron: str | None) -> str:
    """The cron of a ``kind`` schedule (its preset's when none is given); InvalidArgument
    for a missing or bad one."""
    return jobs_schedule_cron(kind, cron, types=SCHEDULE_TYPES, what="scan all")


class ScanAll:
    """Scan-all runs over ``scanner``'s queue, and their schedule."""

    def __init__(self, scanner: Scanner, *, clock: Callable[[], float] = time.time) -> None:
        self.scanner = scanner
        self.db = scanner.records.db
        self.clock = clock
        self._cron: CronSchedule[int, int] | None = None

    def serve(self) -> ScanAll:
        """Make this the scan-all the registry's API acts on (:func:`scan_all_of`)."""
        with _SERVICES_LOCK:
            _SERVICES[self.scanner.registry] = self
        return self

    # --- runs --------------------------------------------------------------------------

    def images(self) -> list[tuple[str, str]]:
        """(digest, a repository holding it) of every image in the registry, once each
        (index manifests are not scanned themselves: the images they list are)."""
        m, r = manifests, repositories
        found: dict[str, str] = {}
        after = 0
        while True:
            with self.db.read() as conn:
                rows = conn.execute(
                    select(m.c.id, r.c.name, m.c.digest, m.c.media_type, m.c.content)
                    .join(r, r.c.id == m.c.repo_id)
                    .where(m.c.id > after)
                    .order_by(m.c.id)
                    .limit(PAGE)
                ).all()
            for row in rows:
                target = scan_target(ManifestRecord(row.digest, row.media_type, row.content))
                if target is not None and not target.is_index:
                    found.setdefault(str(row.digest), str(row.name))
            if len(rows) < PAGE:
                return list(found.items())
            after = int(rows[-1].id)

    def start(self, trigger: str = "Manual") -> int:
        """Queue a scan of every image as one run (Conflict while a run is going on); the
        run's id."""
        images = self.images()
        with self.db.write() as conn:
            if self._ongoing(conn):
                raise Conflict(
                    "a scan all is going on", hint="wait for it to end: GET /scans/all/metrics"
                )
            execution_id = self._start_in(conn, trigger, images, self.clock())
        self.scanner.wake()
        return execution_id

    def stop(self) -> int:
        """Stop the latest run (Harbor's ``stopScanAll``): its queued and running scans are
        Stopped, their reports stopped; how many (0: the run had ended). InvalidArgument when
        there never was a run."""
        with self.db.write() as conn:
            latest = conn.execute(select(func.max(scan_executions.c.id))).scalar()
            if latest is None:
                raise InvalidArgument(
                    "no scan all job is found currently",
                    hint="start one: POST /system/scanAll/schedule with type Manual",
                )
            stopped = self.scanner.records.stop_in(
                conn, scan_tasks.c.execution_id == latest, self.clock()
            )
        if stopped:
            log.info("scan all %d stopped: %d scan(s) not finished", latest, len(stopped))
        self.scanner.stopped(stopped)
        return len(stopped)

    def _ongoing(self, conn: Connection) -> bool:
        latest = conn.execute(select(func.max(scan_executions.c.id))).scalar()
        if latest is None:
            return False
        return bool(
            conn.execute(
                select(func.count())
                .select_from(scan_tasks)
                .where(
                    scan_tasks.c.execution_id == latest,
                    scan_tasks.c.status.in_((PENDING, RUNNING)),
                )
            ).scalar_one()
        )

    def _start_in(
        self, conn: Connection, trigger: str, images: Iterable[tuple[str, str]], now: float
    ) -> int:
        key = conn.execute(
            scan_executions.insert().values(trigger=trigger, start_time=now)
        ).inserted_primary_key
        assert key is not None
        execution_id = int(key[0])
        queued = 0
        for digest, repository in images:
            queued += self.scanner.records.queue_in(conn, digest, repository, execution_id, now)
        # older runs ended before this one could start (one run at a time): they go, with
        # their tasks (the reports stay)
        old = scan_executions.c.id <= execution_id - KEEP
        conn.execute(
            delete(scan_tasks).where(
                scan_tasks.c.execution_id.in_(select(scan_executions.c.id).where(old)),
                scan_tasks.c.status.not_in((PENDING, RUNNING)),
            )
        )
        conn.execute(delete(scan_executions).where(old))
        log.info("scan all %d (%s): %d image(s) queued", execution_id, trigger, queued)
        return execution_id

    def metrics(self) -> dict[str, Any]:
        """Harbor's ``Stats`` of the latest run: its tasks by status."""
        with self.db.read() as conn:
            latest = conn.execute(
                select(scan_executions).order_by(scan_executions.c.id.desc()).limit(1)
            ).first()
            if latest is None:
                return {"total": 0, "completed": 0, "metrics": {}, "ongoing": False}
            counts = {
                str(status): int(n)
                for status, n in conn.execute(
                    select(scan_tasks.c.status, func.count())
                    .where(scan_tasks.c.execution_id == latest.id)
                    .group_by(scan_tasks.c.status)
                )
            }
        total = sum(counts.values())
        waiting = counts.get(PENDING, 0) + counts.get(RUNNING, 0)
        return {
            "total": total,
            "completed": total - waiting,
            "metrics": counts,
            "ongoing": waiting > 0,
            "trigger": str(latest.trigger),
        }

    # --- the schedule --------------------------------------------------------------------

    def schedule(self) -> ScanAllSchedule | None:
        with self.db.read() as conn:
            row = conn.execute(select(scan_all_schedule).where(scan_all_schedule.c.id == 1)).first()
        if row is None:
            return None
        return ScanAllSchedule(row.type, row.cron, row.created_at, row.updated_at)

    def set_schedule(self, kind: str, cron: str | None) -> ScanAllSchedule:
        """Set (or replace) the schedule; InvalidArgument for a bad type or cron. It fires
        from now on."""
        cron = schedule_cron(kind, cron)
        now = self.clock()
        values = {"type": kind, "cron": cron, "updated_at": now, "fired_at": now}
        with self.db.write() as conn:
            t = scan_all_schedule
            if not conn.execute(t.update().where(t.c.id == 1).values(values)).rowcount:
                conn.execute(t.insert().values(id=1, created_at=now, **values))
        found = self.schedule()
        assert found is not None
        return found

    def delete_schedule(self) -> None:
        with self.db.write() as conn:
            conn.execute(scan_all_schedule.delete())

    def next_time(self, cron: str) -> float:
        return next_fire(cron, self.clock())

    def run_due(self, now: float | None = None) -> list[int]:
        """Start the scheduled run when its cron fired since the last look, once across
        processes; the ids of the runs started here."""
        return self.cron().run_due(now)

    def cron(self) -> CronSchedule[int, int]:
        """The schedule's firing (:meth:`CronSchedule.start` runs its thread)."""
        if self._cron is None:
            started: list[int] = []

            def schedules() -> list[tuple[int, str]]:
                found = self.schedule()
                return [] if found is None else [(1, found.cron)]

            def claim(key: int, fire: float) -> bool:
                images = self.images()
                t = scan_all_schedule
                with self.db.write() as conn:
                    moved = conn.execute(
                        t.update().where(t.c.id == key, t.c.fired_at < fire).values(fired_at=fire)
                    ).rowcount
                    if not moved:
                        return False  # another process took this firing
                    if self._ongoing(conn):
                        log.warning("scheduled scan all skipped: the last one is going on")
                        started.append(0)
                        return True
                    started.append(self._start_in(conn, "Schedule", images, self.clock()))
                self.scanner.wake()
                return True

            def start(key: int) -> int:
                return started.pop(0) if started else 0

            self._cron = CronSchedule(
                schedules, claim, start, clock=self.clock, tick=TICK,
                name="scan-all-schedule", log=log,
                failure=f"scan all schedule: the check failed; next in {TICK:g} s",
            )  # fmt: skip
        return self._cron

    def close(self) -> None:
        """Stop the schedule's thread; the API no longer finds this scan-all (it holds the
        registry, which would otherwise keep its entry alive)."""
        if self._cron is not None:
            self._cron.close()
        with _SERVICES_LOCK:
            if _SERVICES.get(self.scanner.registry) is self:
                del _SERVICES[self.scanner.registry]
