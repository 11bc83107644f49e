"""A project's webhook policies (Harbor's ``/projects/{project}/webhook/policies``): list,
add, remove, and the delivery log (executions, their tasks, a task's log)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.client.harbor._client import HarborClient
from dockyard.client.harbor._http import segment
from dockyard.errors import Unavailable

__all__ = [
    "WebhookDelivery",
    "WebhookPolicy",
    "add_webhook",
    "list_webhooks",
    "remove_webhook",
    "webhook_deliveries",
    "webhook_json",
]

_BY_NAME = {"X-Is-Resource-Name": "true"}
_PAGE = 100


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """Harbor's ``WebhookPolicy`` (its field names, for ``--format json``)."""

    id: int
    name: str
    enabled: bool
    event_types: list[str] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""
    creator: str = ""
    creation_time: str = ""

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> WebhookPolicy:
        targets = obj.get("targets")
        return cls(
            id=int(obj.get("id") or 0),
            name=str(obj.get("name") or ""),
            enabled=bool(obj.get("enabled")),
            event_types=[str(e) for e in obj.get("event_types") or []],
            targets=[dict(t) for t in targets if isinstance(t, Mapping)]
            if isinstance(targets, list)
            else [],
            description=str(obj.get("description") or ""),
            creator=str(obj.get("creator") or ""),
            creation_time=str(obj.get("creation_time") or ""),
        )


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """One delivery (a task of an execution): the event, where, how it went, its log."""

    execution_id: int
    task_id: int
    event_type: str
    address: str
    status: str
    attempts: int
    time: str
    log: str


def webhook_json(
    name: str,
    address: str,
    events: Sequence[str],
    *,
    payload_format: str = "Default",
    auth_header: str = "",
    skip_cert_verify: bool = False,
    secret: str = "",
    description: str = "",
) -> dict[str, Any]:
    """The ``WebhookPolicy`` body of a policy with one ``http`` target."""
    return {
        "name": name,
        "description": description,
        "enabled": True,
        "event_types": list(events),
        "targets": [
            {
                "type": "http",
                "address": address,
                "payload_format": payload_format,
                "auth_header": auth_header,
                "skip_cert_verify": skip_cert_verify,
            }
        ],
        "secret": secret,
    }


def _path(project: str) -> str:
    return f"/projects/{segment(project)}/webhook/policies"


def _pages(client: HarborClient, path: str, what: str) -> list[Mapping[str, Any]]:
    return list(client.api.pages(path, what=what, page_size=_PAGE, headers=_BY_NAME))


def list_webhooks(client: HarborClient, project: str) -> list[WebhookPolicy]:
    what = f"list the webhook policies of project {project}"
    return [WebhookPolicy.from_json(p) for p in _pages(client, _path(project), what)]


def add_webhook(client: HarborClient, project: str, body: Mapping[str, Any]) -> WebhookPolicy:
    """Create the policy; the policy as stored."""
    what = f"add a webhook policy to project {project}"
    resp = client.api.request(
        "POST", _path(project), what=what, body=dict(body), headers=_BY_NAME, ok=(201,)
    )
    policy_id = client.api.location_id(resp)
    if policy_id is None:
        raise Unavailable(f"{what}: the registry did not say the new policy's id (Location)")
    got = client.api.request(
        "GET", f"{_path(project)}/{policy_id}", what=what, headers=_BY_NAME
    ).json()
    return WebhookPolicy.from_json(got if isinstance(got, Mapping) else {"id": policy_id})


def remove_webhook(client: HarborClient, project: str, policy_id: int) -> None:
    client.api.request(
        "DELETE",
        f"{_path(project)}/{policy_id}",
        what=f"remove webhook policy {policy_id} of project {project}",
        headers=_BY_NAME,
    )


def webhook_deliveries(
    client: HarborClient, project: str, policy_id: int, *, limit: int = 20
) -> list[WebhookDelivery]:
    """The policy's latest ``limit`` executions, each target's delivery with its log."""
    what = f"read the delivery log of webhook policy {policy_id}"
    base = f"{_path(project)}/{policy_id}/executions"
    resp = client.api.request(
        "GET", base, what=what, query={"page": 1, "page_size": limit}, headers=_BY_NAME
    )
    executions = resp.json()
    if not isinstance(executions, list):
        raise Unavailable(f"{what}: the registry did not answer with a list")
    out: list[WebhookDelivery] = []
    for execution in executions:
        eid = int(execution.get("id") or 0)
        event = ((execution.get("extra_attrs") or {}).get("event") or {}).get("type", "")
        for task in _pages(client, f"{base}/{eid}/tasks", what):
            tid = int(task.get("id") or 0)
            log = client.api.request(
                "GET", f"{base}/{eid}/tasks/{tid}/log", what=what, headers=_BY_NAME
            ).body.decode("utf-8", "replace")
            address = ((task.get("extra_attrs") or {}).get("target") or {}).get("address", "")
            out.append(
                WebhookDelivery(
                    execution_id=eid,
                    task_id=tid,
                    event_type=str(event),
                    address=str(address),
                    status=str(task.get("status") or ""),
                    attempts=int(task.get("run_count") or 0),
                    time=str(task.get("creation_time") or execution.get("start_time") or ""),
                    log=log,
                )
            )
    return out
