"""registry:2's ``notifications.endpoints``: where every push, pull and delete is POSTed as
distribution's envelope, in every auth mode.

::

    notifications:
      endpoints:
        - name: alerts
          url: https://listener.example/events
          headers: {Authorization: [Bearer <token>]}
          timeout: 1s
          threshold: 5
          backoff: 1s
          ignoredmediatypes: [application/octet-stream]
          ignore: {mediatypes: [...], actions: [pull]}

``timeout`` bounds one POST; ``backoff`` is the first wait after a failure (doubling, with
jitter); ``threshold`` is how many attempts a delivery gets before it is marked failed
(registry:2 keeps retrying; dockyard keeps the failed delivery in its log instead).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dockyard.errors import InvalidArgument
from dockyard.registry.limits import parse_duration

__all__ = ["Endpoint", "notification_endpoints"]

DEFAULT_TIMEOUT = 1.0
DEFAULT_BACKOFF = 1.0
DEFAULT_THRESHOLD = 10


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    url: str
    headers: Mapping[str, str]
    timeout: float = DEFAULT_TIMEOUT
    threshold: int = DEFAULT_THRESHOLD
    backoff: float = DEFAULT_BACKOFF
    ignored_media_types: frozenset[str] = frozenset()
    ignored_actions: frozenset[str] = frozenset()

    def wants(self, action: str, media_type: str) -> bool:
        return action not in self.ignored_actions and media_type not in self.ignored_media_types


def _strings(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument(f"configuration key {key!r} must be a list of strings")
    return list(value)


def _headers(value: Any, key: str) -> dict[str, str]:
    """registry:2 writes each header as a list of values; a plain string is taken too."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"configuration key {key!r} must map header names to values")
    out: dict[str, str] = {}
    for name, values in value.items():
        if isinstance(values, str):
            values = [values]
        out[str(name)] = ", ".join(_strings(values, f"{key}.{name}"))
    return out


def _endpoint(raw: Any, index: int) -> Endpoint | None:
    key = f"notifications.endpoints[{index}]"
    if not isinstance(raw, dict):
        raise InvalidArgument(f"{key} must be a mapping with name and url")
    if str(raw.get("disabled", "false")).lower() in ("true", "yes", "on", "1"):
        return None
    name, url = raw.get("name"), raw.get("url")
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"{key}.name is required", hint="give each endpoint a name")
    parts = urlsplit(str(url or ""))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidArgument(
            f"{key}.url must be an http:// or https:// URL, got {str(url)[:200]!r}"
        )
    threshold = int(raw.get("threshold") or DEFAULT_THRESHOLD)
    if threshold < 1:
        raise InvalidArgument(f"{key}.threshold must be at least 1")
    ignore = raw.get("ignore") or {}
    if not isinstance(ignore, dict):
        raise InvalidArgument(f"{key}.ignore must be a mapping of mediatypes and actions")
    return Endpoint(
        name=name,
        url=str(url),
        headers=_headers(raw.get("headers"), f"{key}.headers"),
        timeout=parse_duration(raw.get("timeout") or DEFAULT_TIMEOUT, f"{key}.timeout"),
        threshold=threshold,
        backoff=parse_duration(raw.get("backoff") or DEFAULT_BACKOFF, f"{key}.backoff"),
        ignored_media_types=frozenset(
            _strings(raw.get("ignoredmediatypes"), f"{key}.ignoredmediatypes")
            + _strings(ignore.get("mediatypes"), f"{key}.ignore.mediatypes")
        ),
        ignored_actions=frozenset(_strings(ignore.get("actions"), f"{key}.ignore.actions")),
    )


def notification_endpoints(sections: Mapping[str, Any]) -> tuple[Endpoint, ...]:
    """The enabled endpoints of the config's ``notifications`` section (none without one)."""
    section = sections.get("notifications") or {}
    raw = section.get("endpoints") or [] if isinstance(section, dict) else []
    if not isinstance(raw, list):
        raise InvalidArgument("notifications.endpoints must be a list of endpoints")
    found = [_endpoint(item, i) for i, item in enumerate(raw)]
    return tuple(e for e in found if e is not None)
