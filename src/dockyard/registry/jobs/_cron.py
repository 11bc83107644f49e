"""Cron schedules: when a cron fires next — Harbor's 6 fields (seconds first) or the classic
5 — and the firings that came due in a window of time, each claimed once across the
processes sharing a database before it starts."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import UTC, datetime
from typing import TypeVar

from croniter import croniter

from dockyard.errors import InvalidArgument

__all__ = ["PRESETS", "fire_due", "next_fire", "schedule_cron", "valid_cron"]

K = TypeVar("K")


#: Harbor's schedule presets (six-field crons, seconds first)
PRESETS = {"Hourly": "0 0 * * * *", "Daily": "0 0 0 * * *", "Weekly": "0 0 0 * * 0"}


def schedule_cron(kind: str, cron: str | None, *, types: Collection[str], what: str) -> str:
    """The cron of a Harbor schedule of type ``kind`` (one of ``types``; a preset's own when
    none is given); InvalidArgument naming ``what`` is scheduled for a missing or bad one."""
    if kind not in types:
        raise InvalidArgument(f"schedule type {kind!r} cannot be scheduled")
    cron = (cron or "").strip() or PRESETS.get(kind, "")
    if not cron:
        raise InvalidArgument(
            f"a {kind} schedule needs a cron", hint="e.g. '0 0 2 * * *' (seconds first)"
        )
    if not valid_cron(cron):
        raise InvalidArgument(
            f"invalid cron string for scheduled {what}: {cron}",
            hint="six fields, seconds first: '0 0 2 * * *' is 02:00 every day",
        )
    return cron


def valid_cron(cron: str, *, fields: int = 6) -> bool:
    """Whether ``cron`` is a cron of ``fields`` fields: 6 (Harbor's: seconds first) or 5."""
    if fields not in (5, 6) or len(cron.split()) != fields:
        return False
    return bool(croniter.is_valid(cron, second_at_beginning=fields == 6))


def next_fire(cron: str, after: float) -> float:
    """The first time after ``after`` (epoch seconds, UTC) that ``cron`` fires: 6 fields are
    Harbor's (seconds first), 5 the classic minute-resolution ones."""
    start = datetime.fromtimestamp(after, UTC)
    seconds_first = len(cron.split()) == 6
    return float(croniter(cron, start, second_at_beginning=seconds_first).get_next(float))


def fire_due(
    schedules: Iterable[tuple[K, str]],
    since: float,
    now: float,
    claim: Callable[[K, float], bool],
) -> Iterator[K]:
    """Each schedule (a key and its cron) whose cron fired in (``since``, ``now``] and whose
    firing ``claim(key, fire)`` took for this process — True once per firing, whichever of
    the processes sharing the database asks first. Lazy: a schedule's firing is claimed only
    when the caller asks for the next one (after it started the one before). A ``claim``
    that also writes what the firing starts (its run's row), in the transaction that moves
    the firing, cannot lose the firing to a crash between the two; one that raises has
    claimed nothing (its transaction rolled back) and the firing stays due."""
    for key, cron in schedules:
        fire = next_fire(cron, since)
        if fire <= now and claim(key, fire):
            yield key
