"""Retention in a projects-mode server: the pull-time recorder (a response observer), the
service behind ``/api/v2.0/retentions`` and the cron schedule, started and stopped together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockyard.registry.events import NO_EVENTS, EventSink
from dockyard.registry.harbor._retentions import attach_retention
from dockyard.registry.retention._pulls import PullRecorder
from dockyard.registry.retention._schedule import TICK, RetentionSchedule
from dockyard.registry.retention._service import RetentionService

if TYPE_CHECKING:
    from dockyard.registry._registry import Registry
    from dockyard.registry.access import AccessService
    from dockyard.registry.harbor import HarborApi
    from dockyard.registry.http import Request, ResponseObserver

__all__ = ["RetentionParts", "open_retention", "with_pulls"]


@dataclass
class RetentionParts:
    service: RetentionService
    pulls: PullRecorder
    schedule: RetentionSchedule

    def close(self) -> None:
        self.schedule.close()
        self.service.close()
        self.pulls.close()


def open_retention(
    api: HarborApi,
    registry: Registry,
    access: AccessService,
    *,
    events: EventSink = NO_EVENTS,
    tick: float = TICK,
) -> RetentionParts:
    """Everything retention runs with, started; ``api`` serves the service."""
    service = RetentionService(registry, access, events=events)
    attach_retention(api, service)
    return RetentionParts(
        service,
        PullRecorder(registry.meta.db).start(),
        RetentionSchedule(service, tick=tick).start(),
    )


def with_pulls(observer: ResponseObserver, parts: RetentionParts | None) -> ResponseObserver:
    """``observer``, and (with retention) the pull-time recorder after it."""
    if parts is None:
        return observer
    pulls = parts.pulls.observer()

    def observe(request: Request, route: str, status: int, seconds: float, sent: int) -> None:
        observer(request, route, status, seconds, sent)
        pulls(request, route, status, seconds, sent)

    return observe
