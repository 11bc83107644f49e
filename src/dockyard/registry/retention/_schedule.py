"""Scheduled retention: a daemon thread that, every ``tick`` seconds, closes the executions a
dead process left Running (on this machine or another replica: see
:class:`~dockyard.registry._run_locks.RunLocks`) and starts the executions whose 6-field cron
(Harbor's: seconds first) came due since it last looked. Each firing is claimed in the
database first, so several server processes (or replicas) sharing it start it once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from croniter import croniter

from dockyard.errors import Unavailable
from dockyard.registry.retention._service import SCHEDULE, RetentionService

__all__ = ["TICK", "RetentionSchedule", "next_fire"]

log = logging.getLogger("dockyard.registry.retention")

#: Seconds between two looks (a due firing starts, an abandoned execution is closed, within it).
TICK = 5.0


def next_fire(cron: str, after: float) -> float:
    """The first time after ``after`` (epoch seconds) Harbor's 6-field ``cron`` fires."""
    start = datetime.fromtimestamp(after, UTC)
    it = croniter(cron, start, second_at_beginning=True)
    return float(it.get_next(float))


class RetentionSchedule:
    def __init__(
        self,
        service: RetentionService,
        *,
        tick: float = TICK,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self.tick = tick
        self.clock = clock
        self.started: list[int] = []
        self._since = clock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="retention-schedule", daemon=True)

    def start(self) -> RetentionSchedule:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def run_due(self, now: float | None = None) -> list[int]:
        """Start every policy whose schedule fired in (last look, ``now``]; their executions."""
        now = self.clock() if now is None else now
        since, self._since = self._since, now
        self.service.close_abandoned()  # a run a dead process left blocks nothing
        started: list[int] = []
        for policy in self.service.policies.all():
            if not policy.cron or not policy.rules:
                continue
            fire = next_fire(policy.cron, since)
            if fire <= now and self.service.executions.claim_fire(policy.id, fire):
                started.append(self.service.trigger(policy.id, dry_run=False, trigger=SCHEDULE))
        self.started += started
        return started

    def _loop(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.run_due()
            except Unavailable:
                pass  # the database's outage is logged once, where it was noticed
            except Exception:
                log.exception("retention schedule: cannot start due executions")
