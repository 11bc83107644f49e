"""Firing schedules once per due time: every ``tick`` seconds (a daemon thread) or when asked
(:meth:`CronSchedule.run_due`), each schedule whose cron fired since the last look is claimed
in the database (so that the processes or replicas sharing it start each firing once) and
started."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Generic, Self, TypeVar

from dockyard.registry.jobs._cron import fire_due
from dockyard.registry.jobs._ticker import Ticker

__all__ = ["CronSchedule"]

K = TypeVar("K")
R = TypeVar("R")


class CronSchedule(Generic[K, R]):
    """``schedules()``: the keys to look at and their crons; ``claim(key, fire)``: take the
    firing at ``fire`` for this process (True once across processes); ``start(key)``: start
    it (what it answers is collected by :meth:`run_due`); ``before()``: a chore of each look
    (closing what dead processes left running). The first look covers the time since the
    schedule was made."""

    def __init__(
        self,
        schedules: Callable[[], Iterable[tuple[K, str]]],
        claim: Callable[[K, float], bool],
        start: Callable[[K], R],
        *,
        clock: Callable[[], float],
        tick: float,
        name: str,
        log: logging.Logger,
        failure: str,
        before: Callable[[], object] | None = None,
    ) -> None:
        self.schedules = schedules
        self.claim = claim
        self.start_one = start
        self.before = before
        self.clock = clock
        self.tick = tick
        self._since = clock()
        self._ticker = Ticker(self.run_due, tick=tick, name=name, log=log, failure=failure)

    def start(self) -> Self:
        self._ticker.start()
        return self

    def close(self) -> None:
        self._ticker.close()

    def run_due(self, now: float | None = None) -> list[R]:
        """Start every schedule whose cron fired in (last look, ``now``]; what each start
        answered."""
        now = self.clock() if now is None else now
        since, self._since = self._since, now
        if self.before is not None:
            self.before()
        return [self.start_one(key) for key in fire_due(self.schedules(), since, now, self.claim)]
