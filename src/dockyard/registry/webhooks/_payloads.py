"""What a delivery sends: Harbor's default payload, Harbor's CloudEvents 1.0 payload, the
registry:2 notification envelope, and the HMAC-SHA256 signature header over the body.

The signature follows GitHub's webhooks: ``X-Dockyard-Signature-256: sha256=<hex>``, the
lower-case hex HMAC-SHA256 of the exact request body keyed with the policy's secret. A
receiver recomputes it over the raw body and compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from dockyard.registry import events
from dockyard.registry.events import Event

__all__ = [
    "CLOUDEVENTS",
    "CLOUDEVENTS_JSON",
    "DEFAULT",
    "DISTRIBUTION_EVENTS",
    "SIGNATURE_HEADER",
    "cloudevents_payload",
    "cloudevents_type",
    "default_payload",
    "distribution_envelope",
    "distribution_envelope_of",
    "distribution_event",
    "sign",
]

#: Harbor's payload format names (``payload_format`` of a target).
DEFAULT: Final = "Default"
CLOUDEVENTS: Final = "CloudEvents"
CLOUDEVENTS_JSON: Final = "application/cloudevents+json"
DISTRIBUTION_EVENTS: Final = "application/vnd.docker.distribution.events.v1+json"
SIGNATURE_HEADER: Final = "X-Dockyard-Signature-256"

_CLOUDEVENT_TYPES: Final = {
    events.DELETE_ARTIFACT: "artifact.deleted",
    events.PULL_ARTIFACT: "artifact.pulled",
    events.PUSH_ARTIFACT: "artifact.pushed",
    events.QUOTA_EXCEED: "quota.exceeded",
    events.QUOTA_WARNING: "quota.warned",
    events.REPLICATION: "replication.status.changed",
    events.SCANNING_FAILED: "scan.failed",
    events.SCANNING_COMPLETED: "scan.completed",
    events.SCANNING_STOPPED: "scan.stopped",
    events.TAG_RETENTION: "tag_retention.finished",
}

#: registry:2's action names for the events it notifies about.
_ACTIONS: Final = {
    events.PUSH_ARTIFACT: "push",
    events.PULL_ARTIFACT: "pull",
    events.DELETE_ARTIFACT: "delete",
}


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def cloudevents_type(event_type: str) -> str:
    """Harbor's CloudEvents ``type`` (``harbor.artifact.pushed``) of an event type."""
    return "harbor." + _CLOUDEVENT_TYPES.get(event_type, event_type.lower())


def _netloc(host: str) -> str:
    """``registry.example:5000`` of ``https://registry.example:5000`` (or of itself)."""
    return urlsplit(host).netloc if "://" in host else host


def _event_data(event: Event, *, host: str, public: bool) -> dict[str, Any]:
    host = _netloc(host)
    data: dict[str, Any] = {}
    if event.repository:
        namespace, _, name = event.repository.partition("/")
        resource: dict[str, Any] = {}
        if event.digest:
            resource["digest"] = event.digest
        if event.tag:
            resource["tag"] = event.tag
        where = f"{host}/{event.repository}" if host else event.repository
        if event.tag:
            resource["resource_url"] = f"{where}:{event.tag}"
        elif event.digest:
            resource["resource_url"] = f"{where}@{event.digest}"
        data["resources"] = [resource]
        data["repository"] = {
            "date_created": int(event.occurred_at),
            "name": name,
            "namespace": namespace,
            "repo_full_name": event.repository,
            "repo_type": "public" if public else "private",
        }
    details = dict(event.details)
    for key in ("scan", "retention", "replication"):
        if key in details:
            data[key] = details.pop(key)
    if "scan_overview" in details and data.get("resources"):
        data["resources"][0]["scan_overview"] = details.pop("scan_overview")
    if details:
        data["custom_attributes"] = {k: str(v) for k, v in details.items()}
    return data


def default_payload(event: Event, *, host: str = "", public: bool = False) -> bytes:
    """Harbor's default payload: ``{"type", "occur_at", "operator", "event_data"}``."""
    body = {
        "type": event.type,
        "occur_at": int(event.occurred_at),
        "operator": event.operator,
        "event_data": _event_data(event, host=host, public=public),
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cloudevents_payload(
    event: Event, *, project_id: int, policy_id: int, host: str = "", public: bool = False
) -> bytes:
    """Harbor's CloudEvents 1.0 payload (structured mode, ``application/cloudevents+json``)."""
    body = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "requestid": str(event.details.get("request_id", "")) or str(uuid.uuid4()),
        "source": f"/projects/{project_id}/webhook/policies/{policy_id}",
        "type": cloudevents_type(event.type),
        "datacontenttype": "application/json",
        "time": _rfc3339(event.occurred_at),
        "data": _event_data(event, host=host, public=public),
        "operator": event.operator,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def distribution_action(event_type: str) -> str | None:
    """registry:2's ``action`` for an event type; None for types it has no notification for."""
    return _ACTIONS.get(event_type)


def distribution_envelope(event: Event, *, host: str = "", instance: str = "") -> bytes:
    """registry:2's notification envelope ``{"events": [...]}`` holding one event; ``host``
    is the registry's ``http.host`` (its scheme, if given, starts the target's ``url``)."""
    return distribution_envelope_of([distribution_event(event, host=host, instance=instance)])


def distribution_envelope_of(items: Sequence[Mapping[str, Any]]) -> bytes:
    """The envelope holding ``items`` (built by :func:`distribution_event`), in order."""
    return json.dumps({"events": list(items)}, separators=(",", ":")).encode()


def distribution_event(event: Event, *, host: str = "", instance: str = "") -> dict[str, Any]:
    """One event of registry:2's envelope (its own ``id``, as each request has in
    distribution)."""
    target: dict[str, Any] = {
        "mediaType": event.media_type,
        "size": event.size,
        "digest": event.digest,
        "length": event.size,
        "repository": event.repository,
    }
    reference = event.digest or event.tag
    base = host.rstrip("/") if "://" in host else f"http://{host}"
    host = _netloc(host)
    if host and reference:
        target["url"] = f"{base}/v2/{event.repository}/manifests/{reference}"
    if event.tag:
        target["tag"] = event.tag
    one: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "timestamp": datetime.fromtimestamp(event.occurred_at, UTC)
        .isoformat()
        .replace("+00:00", "Z"),
        "action": _ACTIONS.get(event.type, event.type.lower()),
        "target": target,
        "request": {
            "id": str(event.details.get("request_id", "")),
            "addr": str(event.details.get("client_addr", "")),
            "host": host,
            "method": str(event.details.get("method", "")),
            "useragent": str(event.details.get("user_agent", "")),
        },
        "actor": {"name": event.operator} if event.operator else {},
        "source": {"addr": host, "instanceID": instance},
    }
    count = event.details.get("count")
    if isinstance(count, int) and count > 1:  # pulls merged by the sink
        one["count"] = count
    return one
