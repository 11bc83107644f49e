"""``/projects/{p}/webhook/…``: Harbor's webhook policies of a project (list, create, get,
update, delete), their executions (one per event sent to the policy), the tasks of an
execution (one per target, with its attempts) and a task's delivery log; and the event types
and notify types dockyard supports. Permissions are Harbor's ``notification-policy``.

A policy's ``secret`` (dockyard's own field, write-only: never answered) keys the
``X-Dockyard-Signature-256`` header of its deliveries."""

from __future__ import annotations

from functools import partial
from typing import Any

from dockyard.registry.events import EVENT_TYPES
from dockyard.registry.harbor._access import project_in_path, project_ref
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest
from dockyard.registry.harbor._models import DEFINITIONS, harbor_time
from dockyard.registry.harbor._query import parse_sort
from dockyard.registry.metadata import one_per_database
from dockyard.registry.webhooks import (
    NOTIFY_TYPES,
    PAYLOAD_FORMATS,
    DeliveryQueue,
    ExecutionInfo,
    Policy,
    PolicyStore,
    TaskInfo,
    new_policy,
)

__all__ = [
    "create_policy",
    "delete_policy",
    "get_policy",
    "last_trigger",
    "list_executions",
    "list_policies",
    "list_tasks",
    "supported_events",
    "task_log",
    "update_policy",
]

RESOURCE = "notification-policy"
#: the most policies one project's ``lasttrigger`` lists
MAX_POLICIES = 1000


def _str(doc: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": doc, **extra}


def _int(doc: str, **extra: Any) -> dict[str, Any]:
    return {"type": "integer", "description": doc, **extra}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/definitions/{name}"}


def _array(items: dict[str, Any], doc: str = "") -> dict[str, Any]:
    return (
        {"type": "array", "description": doc, "items": items}
        if doc
        else {"type": "array", "items": items}
    )


def _obj(doc: str, **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "description": doc, "properties": properties}


#: Harbor's shapes of the webhook endpoints (served in swagger.json).
DEFINITIONS.update(
    {
        "WebhookTargetObject": _obj(
            "The webhook policy target object.",
            type=_str("The webhook target notify type (http)."),
            address=_str("The webhook target address."),
            auth_header=_str("The webhook auth header (sent as Authorization)."),
            skip_cert_verify={"type": "boolean",
                              "description": "Whether or not to skip cert verify."},
            payload_format=_ref("PayloadFormatType"),
        ),
        "WebhookPolicy": _obj(
            "The webhook policy object (a request may also set secret, the write-only key "
            "of the X-Dockyard-Signature-256 header)",
            id=_int("The webhook policy ID.", format="int64"),
            name=_str("The name of webhook policy."),
            description=_str("The description of webhook policy."),
            project_id=_int("The project ID of webhook policy."),
            targets=_array(_ref("WebhookTargetObject")),
            event_types=_array({"type": "string"}),
            creator=_str("The creator of the webhook policy."),
            creation_time=_str("The create time of the webhook policy.", format="date-time"),
            update_time=_str("The update time of the webhook policy.", format="date-time"),
            enabled={"type": "boolean", "description": "Whether the webhook policy is enabled."},
        ),
        "EventType": {"type": "string", "description": "Webhook supported event type."},
        "NotifyType": {"type": "string", "description": "Webhook supported notify type."},
        "PayloadFormatType": {"type": "string",
                              "description": "The type of webhook payload format."},
        "PayloadFormat": _obj(
            "Webhook supported payload format type collections.",
            notify_type=_ref("NotifyType"),
            formats=_array(_ref("PayloadFormatType"),
                           "The supported payload formats for this notify type."),
        ),
        "SupportedWebhookEventTypes": _obj(
            "Supported webhook event types and notify types.",
            event_type=_array(_ref("EventType")),
            notify_type=_array(_ref("NotifyType")),
            payload_formats=_array(_ref("PayloadFormat")),
        ),
        "WebhookLastTrigger": _obj(
            "The webhook policy and last trigger time group by event type.",
            policy_name=_str("The webhook policy name."),
            event_type=_str("The webhook event type."),
            enabled={"type": "boolean", "description": "Whether or not the webhook policy enabled."},
            creation_time=_str("The creation time of webhook policy.", format="date-time"),
            last_trigger_time=_str("The last trigger time of webhook policy.", format="date-time"),
        ),
        "Metrics": _obj(
            "Task counts of an execution",
            **{f"{k}_count": _int(f"The count of {k.replace('_', ' ')}")
               for k in ("task", "success_task", "error_task", "pending_task",
                         "running_task", "scheduled_task", "stopped_task")},
        ),
        "Execution": _obj(
            "One event sent to a webhook policy",
            id=_int("The ID of execution"),
            vendor_type=_str("The vendor type of execution (WEBHOOK)"),
            vendor_id=_int("The vendor id of execution (the policy)"),
            status=_str("The status of execution"),
            status_message=_str("The status message of execution"),
            metrics=_ref("Metrics"),
            trigger=_str("The trigger of execution (EVENT)"),
            extra_attrs=_ref("ExtraAttrs"),
            start_time=_str("The start time of execution"),
            end_time=_str("The end time of execution"),
        ),
        "Task": _obj(
            "One delivery of an execution to one target",
            id=_int("The ID of task"),
            execution_id=_int("The ID of task execution"),
            status=_str("The status of task"),
            status_message=_str("The status message of task"),
            run_count=_int("The count of task run (attempts)", format="int32"),
            extra_attrs=_ref("ExtraAttrs"),
            creation_time=_str("The creation time of task"),
            update_time=_str("The update time of task"),
            start_time=_str("The start time of task"),
            end_time=_str("The end time of task"),
        ),
    }
)  # fmt: skip
DEFINITIONS.setdefault("ExtraAttrs", {"type": "object", "additionalProperties": {"type": "object"}})

#: The policy store and queue over a database (tables created on first use: from a thread).
_stores_of = one_per_database(lambda db: (PolicyStore(db), DeliveryQueue(db)))


async def _stores_for(call: Call) -> tuple[PolicyStore, DeliveryQueue]:
    return await call.run(_stores_of, call.registry.meta.db)


def policy_json(policy: Policy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "name": policy.name,
        "description": policy.description,
        "project_id": policy.project_id,
        "targets": [t.json() for t in policy.targets],
        "event_types": list(policy.event_types),
        "creator": policy.creator,
        "creation_time": harbor_time(policy.creation_time),
        "update_time": harbor_time(policy.update_time),
        "enabled": policy.enabled,
    }


def _time(seconds: float) -> str:
    return harbor_time(seconds) if seconds else ""


def execution_json(execution: ExecutionInfo) -> dict[str, Any]:
    total = sum(execution.counts.values())
    return {
        "id": execution.id,
        "vendor_type": "WEBHOOK",
        "vendor_id": execution.policy_id,
        "status": execution.status,
        "status_message": "",
        "metrics": {
            "task_count": total,
            "success_task_count": execution.counts.get("Success", 0),
            "error_task_count": execution.counts.get("Error", 0),
            "pending_task_count": execution.counts.get("Pending", 0),
            "running_task_count": execution.counts.get("Running", 0),
            "scheduled_task_count": 0,
            "stopped_task_count": 0,
        },
        "trigger": "EVENT",
        # Harbor's ExtraAttrs holds objects: the event type as {"event": {"type": …}}
        "extra_attrs": {"event": {"type": execution.event_type}},
        "start_time": _time(execution.start_time),
        "end_time": _time(execution.end_time),
    }


def task_json(task: TaskInfo) -> dict[str, Any]:
    return {
        "id": task.id,
        "execution_id": task.execution_id,
        "status": task.status,
        "status_message": task.status_message,
        "run_count": task.run_count,
        "extra_attrs": {"target": {"address": task.address}},
        "creation_time": _time(task.creation_time),
        "update_time": _time(task.update_time),
        "start_time": _time(task.start_time),
        "end_time": _time(task.end_time),
    }


def _int_param(call: Call, name: str) -> int:
    raw = call.param(name)
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18):
        raise BadRequest(f"{name} must be a positive integer, not {raw[:40]!r}")
    return int(raw)


async def list_policies(call: Call) -> Reply:
    _, project = await project_in_path(call, RESOURCE, "list")
    parse_sort(call.query("sort"), ("id",))
    page = call.page()
    store, _ = await _stores_for(call)
    found, total = await call.run(
        partial(store.of_project, project.id, page=page.number, size=page.size)
    )
    return call.paged([policy_json(p) for p in found], total, page)


async def create_policy(call: Call) -> Reply:
    identity, project = await project_in_path(call, RESOURCE, "create")
    body = await call.json_body()
    store, _ = await _stores_for(call)
    policy = new_policy(project.id, body, creator=identity.name)
    created = await call.run(store.create, policy)
    location = f"/api/v2.0/projects/{project_ref(call)}/webhook/policies/{created.id}"
    return Reply(status=201, headers=[("Location", location)])


async def get_policy(call: Call) -> Reply:
    _, project = await project_in_path(call, RESOURCE, "read")
    store, _ = await _stores_for(call)
    policy = await call.run(store.get, project.id, _int_param(call, "webhook_policy_id"))
    return Reply(json=policy_json(policy))


async def update_policy(call: Call) -> Reply:
    identity, project = await project_in_path(call, RESOURCE, "update")
    body = await call.json_body()
    store, _ = await _stores_for(call)
    base = await call.run(store.get, project.id, _int_param(call, "webhook_policy_id"))
    await call.run(store.update, new_policy(project.id, body, creator=identity.name, base=base))
    return Reply()


async def delete_policy(call: Call) -> Reply:
    _, project = await project_in_path(call, RESOURCE, "delete")
    store, _ = await _stores_for(call)
    await call.run(store.delete, project.id, _int_param(call, "webhook_policy_id"))
    return Reply()


async def list_executions(call: Call) -> Reply:
    _, project = await project_in_path(call, RESOURCE, "list")
    page = call.page()
    store, queue = await _stores_for(call)
    policy = await call.run(store.get, project.id, _int_param(call, "webhook_policy_id"))
    found, total = await call.run(
        partial(queue.executions, policy.id, page=page.number, size=page.size)
    )
    return call.paged([execution_json(e) for e in found], total, page)


async def _execution(call: Call, action: str) -> tuple[DeliveryQueue, int]:
    _, project = await project_in_path(call, RESOURCE, action)
    store, queue = await _stores_for(call)
    policy = await call.run(store.get, project.id, _int_param(call, "webhook_policy_id"))
    execution_id = _int_param(call, "execution_id")
    await call.run(queue.execution, policy.id, execution_id)
    return queue, execution_id


async def list_tasks(call: Call) -> Reply:
    queue, execution_id = await _execution(call, "list")
    page = call.page()
    found, total = await call.run(
        partial(queue.tasks, execution_id, page=page.number, size=page.size)
    )
    return call.paged([task_json(t) for t in found], total, page)


async def task_log(call: Call) -> Reply:
    queue, execution_id = await _execution(call, "read")
    task = await call.run(queue.task, execution_id, _int_param(call, "task_id"))
    return Reply(text=task.log)


async def last_trigger(call: Call) -> Reply:
    """Harbor's (deprecated) ``LastTrigger``: each policy's event types, with when an event
    of that type was last sent to it (absent: never)."""
    _, project = await project_in_path(call, RESOURCE, "read")
    store, queue = await _stores_for(call)
    found, _ = await call.run(partial(store.of_project, project.id, page=1, size=MAX_POLICIES))
    last = await call.run(queue.last_triggers, [p.id for p in found])
    out = []
    for policy in found:
        for event_type in policy.event_types:
            item = {"policy_name": policy.name, "event_type": event_type,
                    "enabled": policy.enabled,
                    "creation_time": harbor_time(policy.creation_time)}  # fmt: skip
            when = last.get((policy.id, event_type))
            if when is not None:
                item["last_trigger_time"] = harbor_time(when)
            out.append(item)
    return Reply(json=out)


async def supported_events(call: Call) -> Reply:
    await project_in_path(call, RESOURCE, "read")
    return Reply(
        json={
            "event_type": list(EVENT_TYPES),
            "notify_type": list(NOTIFY_TYPES),
            "payload_formats": [
                {"notify_type": kind, "formats": list(formats)}
                for kind, formats in PAYLOAD_FORMATS.items()
            ],
        }
    )
