"""The ``replication:`` section of the registry's configuration (``REGISTRY_REPLICATION_*``)::

replication:
  workers: 2        # copies running at once in each registry process
  attempts: 10      # attempts of one copy before it is marked failed
  backoff: 2s       # the wait after the first failure (doubling, with jitter)
  maxwait: 10m      # the longest wait between two attempts
  lease: 5m         # how long a claimed copy is held before another process may take it
  secretkey: …      # the key endpoint credentials are sealed with (16 characters or more)
  secretkeyfile: …  # or a file holding it (default: replication.key in the root directory,
                    # made when missing)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.registry._config_tree import INT, STR, Section
from dockyard.registry.limits import parse_duration
from dockyard.registry.replication._secrets import KEY_FILE

__all__ = ["REPLICATION_SCHEMA", "ReplicationSettings", "replication_settings"]

#: Not strict: a misspelt key is warned about and its default kept (nothing here guards
#: security).
REPLICATION_SCHEMA = Section(
    {"workers": INT, "attempts": INT, "backoff": STR, "maxwait": STR, "lease": STR,
     "secretkey": STR, "secretkeyfile": STR}
)  # fmt: skip


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
    #: the key endpoint credentials are sealed with ("": from ``secret_key_file``)
    secret_key: str = ""
    #: the file holding the key (None: no key, unless ``secret_key``)
    secret_key_file: Path | None = None
    #: whether ``secret_key_file`` is the default one, made when missing
    make_key_file: bool = False


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


def replication_settings(
    section: Mapping[str, Any] | None, root: Path | None = None
) -> ReplicationSettings:
    """The settings of a checked ``replication:`` section (None: the defaults); ``root``, the
    registry's root directory, holds the default key file."""
    key_file = root / KEY_FILE if root is not None else None
    if not section:
        return ReplicationSettings(secret_key_file=key_file, make_key_file=key_file is not None)
    default = ReplicationSettings()
    given = section.get("secretkeyfile")
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
        secret_key=str(section.get("secretkey") or ""),
        secret_key_file=Path(given) if given else key_file,
        make_key_file=not given and key_file is not None,
    )
