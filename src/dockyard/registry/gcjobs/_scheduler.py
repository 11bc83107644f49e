"""The thread that starts scheduled garbage collections, and the one :class:`GcJobs` of a
registry (the API's handlers and the scheduler share it)."""

from __future__ import annotations

import logging
import threading
import weakref

from dockyard.registry._registry import Registry
from dockyard.registry.events import NO_EVENTS, EventSink
from dockyard.registry.gcjobs._jobs import GcJobs
from dockyard.registry.gcjobs._model import GcParameters
from dockyard.registry.jobs import Ticker

__all__ = ["GcScheduler", "gc_jobs", "start_gc_jobs"]

log = logging.getLogger("dockyard.registry.gc")

#: Seconds between looks at the schedule and at runs a dead process left (Harbor's cron has
#: second resolution; a run due is started within this, and a run whose process died is
#: closed within this, by whichever replica looks first).
TICK = 5.0

_JOBS: weakref.WeakKeyDictionary[Registry, GcJobs] = weakref.WeakKeyDictionary()
_JOBS_LOCK = threading.Lock()


def gc_jobs(
    registry: Registry, defaults: GcParameters | None = None, events: EventSink = NO_EVENTS
) -> GcJobs:
    """The registry's GcJobs, made (and its tables created) on first use; ``defaults`` and
    ``events`` count only then. Blocking: call from a thread."""
    with _JOBS_LOCK:
        jobs = _JOBS.get(registry)
        if jobs is None:
            jobs = _JOBS[registry] = GcJobs(registry, defaults=defaults, events=events)
        return jobs


class GcScheduler:
    """A daemon thread: every ``interval`` seconds, :meth:`GcJobs.close_abandoned` (a run
    whose process died, on this machine or another replica, is closed within seconds) and
    :meth:`GcJobs.tick`."""

    def __init__(self, jobs: GcJobs, *, interval: float = TICK) -> None:
        self.jobs = jobs
        self.interval = interval
        self._ticker = Ticker(
            self._step, tick=interval, name="gc-schedule", log=log,
            failure=f"gc schedule: the check failed; next in {interval:g} s",
        )  # fmt: skip

    def start(self) -> GcScheduler:
        self._ticker.start()
        return self

    def close(self) -> None:
        self._ticker.close()
        self.jobs.close()

    def _step(self) -> None:
        self.jobs.close_abandoned()
        started = self.jobs.tick()
        if started is not None:
            log.info("garbage collection %d started by its schedule", started)


def start_gc_jobs(
    registry: Registry,
    defaults: GcParameters | None = None,
    *,
    schedule: bool = True,
    events: EventSink = NO_EVENTS,
    interval: float = TICK,
) -> GcScheduler:
    """The registry's jobs with ``defaults`` publishing to ``events``, and (``schedule``) the
    scheduler thread started, looking every ``interval`` seconds; :meth:`GcScheduler.close`
    stops both."""
    scheduler = GcScheduler(gc_jobs(registry, defaults, events), interval=interval)
    return scheduler.start() if schedule else scheduler
