"""The ``replication:`` section of the registry's configuration (``REGISTRY_REPLICATION_*``)::

replication:
  workers: 2        # copies running at once in each registry process
  attempts: 10      # attempts of one copy before it is marked failed
  backoff: 2s       # the wait after the first failure (doubling, with jitter)
  maxwait: 10m      # the longest wait between two attempts
  lease: 5m         # how long a claimed copy is held before another process may take it
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.registry._config_tree import INT, STR, Section
from dockyard.registry.limits import parse_duration

__all__ = ["REPLICATION_SCHEMA", "ReplicationSettings", "replication_settings"]

#: Not strict: a misspelt key is warned about and its default kept (nothing here guards
#: security).
REPLICATION_SCHEMA = Section(
    {"workers": INT, "attempts": INT, "backoff": STR, "maxwait": STR, "lease": STR}
)


@dataclass(frozen=True, slots=True)
class ReplicationSettings:
    """The queue's knobs."""

    #: attempts of one copy before it is marked failed
    attempts: int = 10
    #: seconds before the second attempt (doubling after each failure, with jitter)
    backoff: float = 2.0
    #: the longest wait between two attempts
    max_wait: float = 600.0
    #: copies running at once in this process
    workers: int = 2
    #: seconds a claimed copy is held before another process may take it over
    lease: float = 300.0


def _count(section: Mapping[str, Any], key: str, default: int, top: int) -> int:
    value = section.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
        raise InvalidArgument(
            f"configuration key 'replication.{key}' must be a whole number from 1 to {top}, "
            f"got {value!r}"
        )
    return value


def replication_settings(section: Mapping[str, Any] | None) -> ReplicationSettings:
    """The settings of a checked ``replication:`` section (None: the defaults)."""
    if not section:
        return ReplicationSettings()
    default = ReplicationSettings()
    return ReplicationSettings(
        attempts=_count(section, "attempts", default.attempts, 1000),
        backoff=parse_duration(section["backoff"], "replication.backoff")
        if section.get("backoff")
        else default.backoff,
        max_wait=parse_duration(section["maxwait"], "replication.maxwait")
        if section.get("maxwait")
        else default.max_wait,
        workers=_count(section, "workers", default.workers, 64),
        lease=parse_duration(section["lease"], "replication.lease")
        if section.get("lease")
        else default.lease,
    )
