"""Garbage collection as jobs: runs in background threads with a history and a bounded log,
a cron schedule (Harbor's ``/api/v2.0/system/gc``)."""

from dockyard.registry.gcjobs._jobs import LOG_LINES, STALE, GcJobs, RunLog
from dockyard.registry.gcjobs._model import (
    SCHEDULE_TYPES,
    GcParameters,
    GcRun,
    GcSchedule,
    next_time,
    schedule_cron,
)
from dockyard.registry.gcjobs._scheduler import GcScheduler, gc_jobs, start_gc_jobs

__all__ = [
    "LOG_LINES",
    "SCHEDULE_TYPES",
    "STALE",
    "GcJobs",
    "GcParameters",
    "GcRun",
    "GcSchedule",
    "GcScheduler",
    "RunLog",
    "gc_jobs",
    "next_time",
    "schedule_cron",
    "start_gc_jobs",
]
