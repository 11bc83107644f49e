"""What happened in the registry, as Harbor names it: the value every producer (pushes, pulls,
deletes, scans, quotas, retention, replication, promotion) hands to an :class:`EventSink`, and
the sink protocol the webhook delivery implements. Producers take a sink in their constructor;
:data:`NO_EVENTS` is the sink of a registry with nothing listening."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol

__all__ = [
    "DELETE_ARTIFACT",
    "EVENT_TYPES",
    "NO_EVENTS",
    "PULL_ARTIFACT",
    "PUSH_ARTIFACT",
    "QUOTA_EXCEED",
    "QUOTA_WARNING",
    "REPLICATION",
    "SCANNING_COMPLETED",
    "SCANNING_FAILED",
    "SCANNING_STOPPED",
    "TAG_RETENTION",
    "Event",
    "EventSink",
]

# Harbor's event types (its webhook policies' ``event_types``), spelled as Harbor spells them.
PUSH_ARTIFACT: Final = "PUSH_ARTIFACT"
PULL_ARTIFACT: Final = "PULL_ARTIFACT"
DELETE_ARTIFACT: Final = "DELETE_ARTIFACT"
SCANNING_COMPLETED: Final = "SCANNING_COMPLETED"
SCANNING_FAILED: Final = "SCANNING_FAILED"
SCANNING_STOPPED: Final = "SCANNING_STOPPED"
QUOTA_EXCEED: Final = "QUOTA_EXCEED"
QUOTA_WARNING: Final = "QUOTA_WARNING"
REPLICATION: Final = "REPLICATION"
TAG_RETENTION: Final = "TAG_RETENTION"

EVENT_TYPES: Final = (
    PUSH_ARTIFACT,
    PULL_ARTIFACT,
    DELETE_ARTIFACT,
    SCANNING_COMPLETED,
    SCANNING_FAILED,
    SCANNING_STOPPED,
    QUOTA_EXCEED,
    QUOTA_WARNING,
    REPLICATION,
    TAG_RETENTION,
)


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened. ``repository`` is the full name (``project/repo``), empty when
    the event is about a project as a whole; ``details`` carries what a type adds (a scan's
    summary, a retention run's counts, a quota's numbers) as JSON-ready values."""

    type: str
    project: str
    repository: str = ""
    operator: str = ""
    digest: str = ""
    tag: str = ""
    media_type: str = ""
    size: int = 0
    occurred_at: float = field(default_factory=time.time)
    details: Mapping[str, object] = field(default_factory=dict)


class EventSink(Protocol):
    """Takes events; returns at once (delivery happens elsewhere) and never raises."""

    def publish(self, event: Event) -> None: ...


class _NoEvents:
    __slots__ = ()

    def publish(self, event: Event) -> None:
        return None


#: The sink of a registry with no webhook policy and no notification endpoint.
NO_EVENTS: Final[EventSink] = _NoEvents()
