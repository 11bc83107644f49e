"""Scheduled retention: a daemon thread that, every ``tick`` seconds, closes the executions a
dead process left Running (on this machine or another replica: see
:class:`~dockyard.registry._run_locks.RunLocks`) and starts the executions whose 6-field cron
(Harbor's: seconds first) came due since it last looked. Each firing is claimed in the
database first, so several server processes (or replicas) sharing it start it once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from dockyard.registry.jobs import CronSchedule, next_fire
from dockyard.registry.retention._model import Policy
from dockyard.registry.retention._service import SCHEDULE, RetentionService

__all__ = ["TICK", "RetentionSchedule", "next_fire"]

log = logging.getLogger("dockyard.registry.retention")

#: Seconds between two looks (a due firing starts, an abandoned execution is closed, within it).
TICK = 5.0


class RetentionSchedule(CronSchedule[Policy, int]):
    """The schedule of every retention policy with a cron and rules; :attr:`started`: the
    executions it started."""

    def __init__(
        self,
        service: RetentionService,
        *,
        tick: float = TICK,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self.started: list[int] = []
        super().__init__(
            lambda: [(p, p.cron) for p in service.policies.all() if p.cron and p.rules],
            lambda policy, fire: service.executions.claim_fire(policy.id, fire),
            lambda policy: service.trigger(policy.id, dry_run=False, trigger=SCHEDULE),
            clock=clock, tick=tick, name="retention-schedule", log=log,
            failure="retention schedule: cannot start due executions",
            before=service.close_abandoned,  # a run a dead process left blocks nothing
        )  # fmt: skip

    def run_due(self, now: float | None = None) -> list[int]:
        """Start every policy whose schedule fired in (last look, ``now``]; their executions."""
        started = super().run_due(now)
        self.started += started
        return started
