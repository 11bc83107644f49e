"""What a garbage collection job is: its parameters (Harbor's ``delete_untagged``,
``dry_run``, ``workers``, ``time_window``), one run, and the schedule (Harbor's 6-field cron:
seconds first)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from dockyard.errors import InvalidArgument
from dockyard.registry._gc import DEFAULT_GRACE, MAX_WORKERS
from dockyard.registry.jobs import next_fire as next_time
from dockyard.registry.jobs import schedule_cron as jobs_schedule_cron

if TYPE_CHECKING:
    from dockyard.registry.config import StorageConfig

__all__ = [
    "SCHEDULE_TYPES",
    "GcParameters",
    "GcRun",
    "GcSchedule",
    "next_time",
    "schedule_cron",
]

#: Harbor's preset schedules (what its console sends as ``cron`` for them).
#: Types that keep a schedule (``Manual`` runs now, ``None`` removes the schedule).
SCHEDULE_TYPES = ("Hourly", "Daily", "Weekly", "Custom", "Schedule")


@dataclass(frozen=True, slots=True)
class GcParameters:
    """One run's knobs. ``time_window``: hours within which pushed or linked content is
    kept (Harbor's ``gc_time_window_hours``); ``workers``: 1 to 10 deleting threads."""

    delete_untagged: bool = False
    dry_run: bool = False
    workers: int = 1
    time_window: float = DEFAULT_GRACE / 3600

    def json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def parse(cls, value: Any, defaults: GcParameters | None = None) -> GcParameters:
        """From a request's ``parameters`` object (missing keys from ``defaults``);
        InvalidArgument naming a bad one."""
        base = defaults or cls()
        if value is None:
            return base
        if not isinstance(value, dict):
            raise InvalidArgument("parameters must be a JSON object")
        unknown = sorted(set(value) - {"delete_untagged", "dry_run", "workers", "time_window"})
        if unknown:
            raise InvalidArgument(
                f"unknown gc parameter(s) {', '.join(unknown)}",
                hint="use delete_untagged, dry_run, workers, time_window",
            )
        flags = {}
        for key in ("delete_untagged", "dry_run"):
            flag = value.get(key, getattr(base, key))
            if not isinstance(flag, bool):
                raise InvalidArgument(f"{key} must be true or false, not {flag!r}")
            flags[key] = flag
        workers = value.get("workers", base.workers)
        if isinstance(workers, bool) or not isinstance(workers, int):
            raise InvalidArgument("workers should be integer format")
        if not 1 <= workers <= MAX_WORKERS:
            raise InvalidArgument(
                f"Error: Invalid number of workers:{workers}. Workers must be greater than 0 "
                f"and less than or equal to {MAX_WORKERS}."
            )
        window = value.get("time_window", base.time_window)
        if isinstance(window, bool) or not isinstance(window, int | float) or window < 0:
            raise InvalidArgument(f"time_window must be hours (a number >= 0), not {window!r}")
        return cls(flags["delete_untagged"], flags["dry_run"], workers, float(window))

    @classmethod
    def from_config(cls, storage: StorageConfig) -> GcParameters:
        """The defaults ``storage.maintenance.gc`` sets."""
        return cls(
            delete_untagged=storage.gc_delete_untagged,
            workers=storage.gc_workers,
            time_window=storage.gc_time_window / 3600,
        )

    @classmethod
    def loads(cls, text: str) -> GcParameters:
        return cls.parse(json.loads(text))

    def harbor(self) -> dict[str, Any]:
        """As Harbor shows them (``time_window`` in whole hours when it is whole)."""
        window: float | int = self.time_window
        if float(window).is_integer():
            window = int(window)
        return {**asdict(self), "time_window": window}


@dataclass(frozen=True, slots=True)
class GcRun:
    id: int
    trigger: str
    status: str
    parameters: GcParameters
    created_at: float
    updated_at: float
    report: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("Success", "Error", "Stopped")


@dataclass(frozen=True, slots=True)
class GcSchedule:
    type: str
    cron: str
    parameters: GcParameters
    created_at: float
    updated_at: float
    fired_at: float

    def next_after(self, moment: float) -> float:
        return next_time(self.cron, moment)


def schedule_cron(kind: str, cron: str | None) -> str:
    """The cron of a schedule of type ``kind`` (a preset's own when none is given);
    InvalidArgument for a missing or bad one."""
    return jobs_schedule_cron(kind, cron, types=SCHEDULE_TYPES, what="gc")
