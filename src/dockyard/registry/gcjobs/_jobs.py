"""GcJobs: garbage collection runs in background threads, with a history table, a bounded
log per run, and the schedule the scheduler thread follows.

At most one run is Pending or Running in the registry at a time (decided in a write
transaction, so across server processes too); a Running row not heard from for
:data:`STALE` seconds belongs to a process that died and is marked Error.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select

from dockyard.errors import Conflict, NotFound
from dockyard.registry._gc import GCReport, collect_garbage
from dockyard.registry._registry import Registry
from dockyard.registry._run_locks import HeldRun, RunLocks
from dockyard.registry.events import NO_EVENTS, EventSink
from dockyard.registry.gcjobs._model import GcParameters, GcRun, GcSchedule, schedule_cron
from dockyard.registry.gcjobs._schema import gc_runs, gc_schedule, metadata
from dockyard.registry.jobs import fire_due

__all__ = ["HISTORY", "LOG_LINES", "STALE", "GcJobs", "RunLog"]

log = logging.getLogger("dockyard.registry.gc")

#: Lines a run's log keeps: the first half and the last half of them, the middle elided.
LOG_LINES = 1000
#: Seconds after which a Running run nobody updates is taken for dead.
STALE = 600.0
#: Ended runs kept in the history (older ones are deleted when a run ends).
HISTORY = 50

_ACTIVE = ("Pending", "Running")


class GcRunUnknown(NotFound):
    pass


class GcRunning(Conflict):
    pass


class RunLog:
    """A run's log lines, bounded: the first ``limit // 2`` and the last ``limit // 2``."""

    def __init__(self, clock: Callable[[], float], limit: int = LOG_LINES) -> None:
        self.clock = clock
        self.head: list[str] = []
        self.tail: list[str] = []
        self.dropped = 0
        self.half = max(1, limit // 2)

    def add(self, level: str, text: str) -> None:
        moment = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        line = f"{moment} [{level}] [/registry/gc]: {text}"
        if len(self.head) < self.half:
            self.head.append(line)
            return
        self.tail.append(line)
        if len(self.tail) > self.half:
            self.tail.pop(0)
            self.dropped += 1

    def text(self) -> str:
        middle = [f"... {self.dropped} line(s) omitted ..."] if self.dropped else []
        return "".join(f"{line}\n" for line in (*self.head, *middle, *self.tail))


class GcJobs:
    """Runs of :func:`~dockyard.registry.collect_garbage` on ``registry`` as jobs.
    ``defaults``: the parameters a request leaves out (the config's time window and
    workers); ``clock``: the wall clock (tests inject one)."""

    def __init__(
        self,
        registry: Registry,
        *,
        defaults: GcParameters | None = None,
        clock: Callable[[], float] = time.time,
        log_lines: int = LOG_LINES,
        events: EventSink = NO_EVENTS,
        keep_runs: int = HISTORY,
    ) -> None:
        self.registry = registry
        #: ended runs the history keeps
        self.keep_runs = keep_runs
        #: where the untagged manifests a run deletes are published (DELETE_ARTIFACT)
        self.events = events
        self.db = registry.meta.db
        self.defaults = defaults or GcParameters()
        self.clock = clock
        self.log_lines = log_lines
        self._threads: dict[int, tuple[threading.Thread, threading.Event]] = {}
        self._lock = threading.Lock()
        with self.db.write() as conn:  # IMMEDIATE: waits for a busy writer, never deadlocks
            metadata.create_all(conn)
        self.locks = RunLocks(self.db, "gc")
        self.close_abandoned()

    def close_abandoned(self) -> list[int]:
        """Mark Error the runs left Pending or Running by a process that died (at start-up,
        and before a run starts), with a line in their log; their ids."""
        now = self.clock()
        with self.db.read() as conn:
            rows = conn.execute(
                select(gc_runs.c.id, gc_runs.c.created_at).where(gc_runs.c.status.in_(_ACTIVE))
            ).all()
        closed = []
        for run_id, _ in rows:
            if not self.locks.abandoned(int(run_id)):
                continue
            stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            line = (
                f"{stamp} [ERROR] [/registry/gc]: the registry process running garbage "
                f"collection {run_id} stopped before it ended (killed or crashed); marked Error\n"
            )
            with self.db.write() as conn:
                done = conn.execute(
                    gc_runs.update()
                    .where(gc_runs.c.id == run_id, gc_runs.c.status.in_(_ACTIVE))
                    .values(status="Error", log=gc_runs.c.log + line, updated_at=now)
                )
            if done.rowcount:
                log.warning("garbage collection %d was abandoned by a process that stopped; "
                            "marked Error", run_id)  # fmt: skip
                closed.append(int(run_id))
        return closed

    # --- runs ----------------------------------------------------------------------------

    def start(self, parameters: GcParameters | None = None, trigger: str = "MANUAL") -> int:
        """Queue a run and start it in a thread of this process; its id. Conflict while
        another run is pending or running."""
        params = parameters or self.defaults
        self.close_abandoned()
        queued: list[tuple[int, HeldRun]] = []
        try:
            with self.db.write() as conn:
                queued.append(self._queue(conn, params, trigger, self.clock()))
        except BaseException:
            _release(queued)
            raise
        run_id, held = queued[0]
        return self._launch(run_id, params, held)

    def _queue(
        self, conn: Connection, params: GcParameters, trigger: str, now: float
    ) -> tuple[int, HeldRun]:
        """Insert a Pending run in the caller's write transaction and take its lock; its id
        and the lock (the caller releases it if the transaction does not commit). GcRunning
        (nothing written) while another run is pending or running."""
        active = conn.execute(
            select(gc_runs.c.id, gc_runs.c.updated_at).where(gc_runs.c.status.in_(_ACTIVE))
        ).first()
        if active is not None and now - float(active[1]) < STALE:
            raise GcRunning(
                f"garbage collection {active[0]} is still running",
                hint="wait for it to finish, or stop it (PUT /system/gc/{id})",
            )
        if active is not None:
            conn.execute(
                gc_runs.update()
                .where(gc_runs.c.id == active[0])
                .values(status="Error", updated_at=now)
            )
        run_id = int(
            conn.execute(
                gc_runs.insert().values(
                    trigger=trigger,
                    status="Pending",
                    parameters=params.json(),
                    log="",
                    stop_requested=False,
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        # the lock before the row can be seen: no other process takes it for abandoned
        return run_id, self.locks.hold(run_id)

    def _launch(self, run_id: int, params: GcParameters, held: HeldRun) -> int:
        """Work queued run ``run_id`` in a thread of this process; its id."""
        stop = threading.Event()
        thread = threading.Thread(
            target=self._work, args=(run_id, params, stop, held), name=f"gc-{run_id}",
            daemon=True,
        )  # fmt: skip
        with self._lock:
            self._threads[run_id] = (thread, stop)
        thread.start()
        return run_id

    def _work(
        self, run_id: int, params: GcParameters, stop: threading.Event, held: HeldRun
    ) -> None:
        lines = RunLog(self.clock, self.log_lines)

        def progress(text: str) -> None:
            lines.add("INFO", text)
            if self._heartbeat(run_id, "Running", lines):
                stop.set()

        status, report = "Error", None
        try:
            progress(f"garbage collection {run_id} started")
            result = collect_garbage(
                self.registry,
                dry_run=params.dry_run,
                delete_untagged=params.delete_untagged,
                grace=params.time_window * 3600,
                workers=params.workers,
                progress=progress,
                stop=stop,
                events=self.events,
            )
            report = _summary(result)
            status = "Stopped" if result.stopped else "Success"
            for key, error in result.errors:
                lines.add("WARNING", f"{key} stays: {error}")
        except Exception as exc:
            log.exception("garbage collection %d failed", run_id)
            lines.add("ERROR", f"garbage collection failed: {exc}")
        finally:
            lines.add("INFO", f"garbage collection {run_id}: {status}")
            self._finish(run_id, status, lines, report)
            held.release()
            with self._lock:
                self._threads.pop(run_id, None)

    def _heartbeat(self, run_id: int, status: str, lines: RunLog) -> bool:
        """Store the log and status; whether a stop was asked for."""
        with self.db.write() as conn:
            conn.execute(
                gc_runs.update()
                .where(gc_runs.c.id == run_id)
                .values(status=status, log=lines.text(), updated_at=self.clock())
            )
            row = conn.execute(
                select(gc_runs.c.stop_requested).where(gc_runs.c.id == run_id)
            ).first()
        return bool(row and row[0])

    def _finish(
        self, run_id: int, status: str, lines: RunLog, report: dict[str, Any] | None
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                gc_runs.update()
                .where(gc_runs.c.id == run_id)
                .values(
                    status=status,
                    log=lines.text(),
                    report=None if report is None else json.dumps(report),
                    updated_at=self.clock(),
                )
            )
            self._sweep(conn)

    def _sweep(self, conn: Connection) -> None:
        """Keep the newest ``keep_runs`` ended runs."""
        ended = gc_runs.c.status.not_in(_ACTIVE)
        cut = conn.execute(
            select(gc_runs.c.id).where(ended).order_by(gc_runs.c.id.desc())
            .offset(self.keep_runs).limit(1)
        ).scalar()  # fmt: skip
        if cut is not None:
            conn.execute(gc_runs.delete().where(ended, gc_runs.c.id <= cut))

    def wait(self, run_id: int, timeout: float | None = None) -> GcRun:
        """Block until run ``run_id`` (started in this process) has finished; the run."""
        with self._lock:
            entry = self._threads.get(run_id)
        if entry is not None:
            entry[0].join(timeout)
        return self.get(run_id)

    def stop(self, run_id: int) -> None:
        """Ask run ``run_id`` to stop after its current batch (NotFound for no such run;
        a finished run stays as it is, as in Harbor)."""
        with self.db.write() as conn:
            done = conn.execute(
                gc_runs.update().where(gc_runs.c.id == run_id).values(stop_requested=True)
            )
            if not done.rowcount:
                raise GcRunUnknown(f"garbage collection {run_id} not found")
        with self._lock:
            entry = self._threads.get(run_id)
        if entry is not None:
            entry[1].set()

    def get(self, run_id: int) -> GcRun:
        with self.db.read() as conn:
            row = conn.execute(select(gc_runs).where(gc_runs.c.id == run_id)).first()
        if row is None:
            raise GcRunUnknown(f"garbage collection {run_id} not found")
        return _run(row)

    def log_text(self, run_id: int) -> str:
        with self.db.read() as conn:
            row = conn.execute(select(gc_runs.c.log).where(gc_runs.c.id == run_id)).first()
        if row is None:
            raise GcRunUnknown(f"garbage collection {run_id} log is not found")
        return str(row[0])

    def history(self, offset: int = 0, limit: int = 10) -> tuple[list[GcRun], int]:
        """Runs, newest first, and how many there are."""
        with self.db.read() as conn:
            total = int(conn.execute(select(func.count()).select_from(gc_runs)).scalar_one())
            rows = conn.execute(
                select(gc_runs).order_by(gc_runs.c.id.desc()).offset(offset).limit(limit)
            ).all()
        return [_run(r) for r in rows], total

    def close(self, timeout: float = 10.0) -> None:
        """Stop this process's runs and wait for them."""
        with self._lock:
            entries = list(self._threads.values())
        for _, stop in entries:
            stop.set()
        for thread, _ in entries:
            thread.join(timeout)

    # --- the schedule -------------------------------------------------------------------

    def schedule(self) -> GcSchedule | None:
        with self.db.read() as conn:
            row = conn.execute(select(gc_schedule).where(gc_schedule.c.id == 1)).first()
        if row is None:
            return None
        return GcSchedule(
            type=row.type,
            cron=row.cron,
            parameters=GcParameters.loads(row.parameters),
            created_at=float(row.created_at),
            updated_at=float(row.updated_at),
            fired_at=float(row.fired_at),
        )

    def set_schedule(self, kind: str, cron: str | None, parameters: GcParameters) -> GcSchedule:
        """Run on ``cron`` (a preset's for Hourly/Daily/Weekly without one) from now on."""
        cron = schedule_cron(kind, cron)
        now = self.clock()
        values = {
            "type": kind,
            "cron": cron,
            "parameters": parameters.json(),
            "updated_at": now,
            "fired_at": now,
        }
        with self.db.write() as conn:
            done = conn.execute(gc_schedule.update().where(gc_schedule.c.id == 1).values(values))
            if not done.rowcount:
                conn.execute(gc_schedule.insert().values(id=1, created_at=now, **values))
        found = self.schedule()
        assert found is not None
        return found

    def delete_schedule(self) -> None:
        with self.db.write() as conn:
            conn.execute(gc_schedule.delete())

    def tick(self) -> int | None:
        """Start the scheduled run when it is due, once across processes; its id, else None.
        One write transaction moves the schedule's ``fired_at`` (unless another process
        moved it first) and inserts the run: a firing moves only with its run written, so a
        process dying in between, or a failed insert, leaves the firing to the next tick.
        While another run is active the firing is skipped (it moves, with a warning)."""
        found = self.schedule()
        if found is None:
            return None
        now = self.clock()
        queued: list[tuple[int, HeldRun]] = []

        def claim(schedule: GcSchedule, fire: float) -> bool:
            """Move ``fired_at`` to now and queue the run, in one transaction."""
            self.close_abandoned()
            try:
                with self.db.write() as conn:
                    moved = conn.execute(
                        gc_schedule.update()
                        .where(gc_schedule.c.id == 1, gc_schedule.c.fired_at == schedule.fired_at)
                        .values(fired_at=now)
                    )
                    if not moved.rowcount:
                        return False
                    try:
                        queued.append(self._queue(conn, schedule.parameters, "SCHEDULE", now))
                    except GcRunning as exc:  # nothing written but the firing: it is skipped
                        log.warning("scheduled garbage collection skipped: %s", exc)
                        return False
            except BaseException:
                _release(queued)
                raise
            return True

        for due in fire_due([(found, found.cron)], found.fired_at, now, claim):
            run_id, held = queued.pop()
            return self._launch(run_id, due.parameters, held)
        return None


def _release(queued: list[tuple[int, HeldRun]]) -> None:
    """Release the locks of runs whose transaction did not commit."""
    for _, held in queued:
        held.release()
    queued.clear()


def _run(row: Row[Any]) -> GcRun:
    return GcRun(
        id=int(row.id),
        trigger=row.trigger,
        status=row.status,
        parameters=GcParameters.loads(row.parameters),
        created_at=float(row.created_at),
        updated_at=float(row.updated_at),
        report=None if row.report is None else json.loads(row.report),
    )


def _summary(report: GCReport) -> dict[str, Any]:
    """Counts and bytes (the lists can be long: the log has the details)."""
    data = dataclasses.asdict(report)
    for key in ("manifests", "blobs", "orphans", "kept", "errors"):
        data[key] = len(data[key])
    return data
