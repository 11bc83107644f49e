"""``/replication/policies`` and ``/replication/executions``: Harbor's replication policies
(push- and pull-based) (create, list, get, update, delete), their executions (start one by hand, list,
get, stop), the tasks of an execution (one artifact each) and a task's log. System
administrators only (Harbor's ``replication-policy`` and ``replication`` resources)."""

from __future__ import annotations

from functools import partial
from typing import Any

from dockyard.registry.harbor._access import access_of
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest
from dockyard.registry.harbor._models import DEFINITIONS, harbor_time
from dockyard.registry.harbor._query import Exact, Fuzzy, parse_query, parse_sort
from dockyard.registry.harbor._registries import registry_json
from dockyard.registry.replication import (
    ERROR,
    PENDING,
    RUNNING,
    STOPPED,
    SUCCESS,
    ExecutionInfo,
    Policy,
    RegistryNotFound,
    RemoteRegistry,
    Replication,
    TaskInfo,
    policy_from_json,
    replication_of,
)

__all__ = [
    "create_policy",
    "delete_policy",
    "get_execution",
    "get_policy",
    "list_executions",
    "list_policies",
    "list_tasks",
    "start_execution",
    "stop_execution",
    "task_log",
    "update_policy",
]

POLICY = "replication-policy"
EXECUTION = "replication"
#: Harbor's names of execution and task statuses in this API
EXECUTION_STATUS = {RUNNING: "InProgress", SUCCESS: "Succeed", ERROR: "Failed",
                    STOPPED: "Stopped"}  # fmt: skip
TASK_STATUS = {PENDING: "Pending", RUNNING: "InProgress", SUCCESS: "Succeed", ERROR: "Failed",
               STOPPED: "Stopped"}  # fmt: skip
_FROM_TASK_STATUS = {v: k for k, v in TASK_STATUS.items()}
#: Harbor's operation names of a task (the operation, whether its reference is a digest)
_OPERATIONS = {("copy", False): "copy", ("copy", True): "copy", ("delete", True): "deletion",
               ("delete", False): "tag deletion"}  # fmt: skip
#: Executions looked through when a listing filters by status (the newest first).
MAX_FILTERED = 1000


def _str(doc: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": doc, **extra}


def _int(doc: str, **extra: Any) -> dict[str, Any]:
    return {"type": "integer", "description": doc, **extra}


def _bool(doc: str) -> dict[str, Any]:
    return {"type": "boolean", "description": doc}


def _ref(name: str, doc: str = "") -> dict[str, Any]:
    return {"$ref": f"#/definitions/{name}", **({"description": doc} if doc else {})}


DEFINITIONS.update(
    {
        "ReplicationFilter": {
            "type": "object",
            "properties": {
                "type": _str("The replication policy filter type: name, tag, label or resource."),
                "value": {"description": "The pattern (doublestar) of a name or tag filter, "
                          "the labels of a label filter, image or artifact of a resource "
                          "filter."},
                "decoration": _str("matches or excludes the result"),
            },
        },
        "ReplicationTriggerSettings": {
            "type": "object",
            "properties": {"cron": _str("The cron string for scheduled trigger")},
        },
        "ReplicationTrigger": {
            "type": "object",
            "properties": {
                "type": _str("The replication policy trigger type: manual or event_based."),
                "trigger_settings": _ref("ReplicationTriggerSettings"),
            },
        },
        "ReplicationPolicy": {
            "type": "object",
            "properties": {
                "id": _int("The policy ID.", format="int64"),
                "name": _str("The policy name."),
                "description": _str("The description of the policy."),
                "src_registry": _ref("Registry", "The source registry (this one)."),
                "dest_registry": _ref("Registry", "The destination registry."),
                "dest_namespace": _str("The destination namespace."),
                "dest_namespace_replace_count": _int(
                    "How many path components the destination namespace replaces (-1: "
                    "the legacy mode)", format="int8"),
                "trigger": _ref("ReplicationTrigger"),
                "filters": {"type": "array", "items": _ref("ReplicationFilter"),
                            "description": "The replication policy filter array."},
                "replicate_deletion": _bool("Whether to replicate the deletion operation."),
                "deletion": _bool("Deprecated, use replicate_deletion instead."),
                "override": _bool("Whether to override the resources on the destination."),
                "enabled": _bool("Whether the policy is enabled or not."),
                "creation_time": _str("The create time of the policy.", format="date-time"),
                "update_time": _str("The update time of the policy.", format="date-time"),
                "speed": _int("speed limit for each task (KB/s)", format="int32"),
                "copy_by_chunk": _bool("Whether to enable copy by chunk."),
                "single_active_replication": _bool(
                    "Whether to skip an execution until the previous one finishes."),
            },
        },
        "StartReplicationExecution": {
            "type": "object",
            "properties": {"policy_id": _int("The ID of policy that the execution belongs "
                                             "to.", format="int64")},
        },
        "ReplicationExecution": {
            "type": "object",
            "description": "The replication execution",
            "properties": {
                "id": _int("The ID of the execution"),
                "policy_id": _int("The ID if the policy that the execution belongs to"),
                "status": _str("The status of the execution"),
                "trigger": _str("The trigger mode"),
                "start_time": _str("The start time", format="date-time"),
                "end_time": _str("The end time", format="date-time"),
                "status_text": _str("The status text"),
                "total": _int("The count of all tasks"),
                "failed": _int("The count of failed tasks"),
                "succeed": _int("The count of succeeded tasks"),
                "in_progress": _int("The count of tasks in progress"),
                "stopped": _int("The count of stopped tasks"),
            },
        },
        "ReplicationTask": {
            "type": "object",
            "description": "The replication task",
            "properties": {
                "id": _int("The ID of the task"),
                "execution_id": _int("The ID of the execution that the task belongs to"),
                "status": _str("The status of the task"),
                "job_id": _str("The ID of the underlying job that the task related to"),
                "operation": _str("The operation of the task"),
                "resource_type": _str("The type of the resource that the task operates"),
                "src_resource": _str("The source resource that the task operates"),
                "dst_resource": _str("The destination resource that the task operates"),
                "start_time": _str("The start time of the task", format="date-time"),
                "end_time": _str("The end time of the task", format="date-time"),
            },
        },
    }
)  # fmt: skip

#: This registry, as a policy's source.
LOCAL = {
    "id": 0, "name": "Local", "type": "harbor", "url": "", "insecure": True,
    "credential": {"type": "", "access_key": "", "access_secret": ""},
    "description": "this registry", "status": "healthy",
}  # fmt: skip


def policy_json(policy: Policy, endpoint: RemoteRegistry | None) -> dict[str, Any]:
    other = registry_json(endpoint) if endpoint is not None else {"id": policy.endpoint_id}
    return {
        "id": policy.id,
        "name": policy.name,
        "description": policy.description,
        "src_registry": other if policy.pull else LOCAL,
        "dest_registry": LOCAL if policy.pull else other,
        "dest_namespace": policy.dest_namespace,
        "dest_namespace_replace_count": policy.dest_namespace_replace_count,
        "trigger": {"type": policy.trigger, "trigger_settings": {"cron": policy.cron}},
        "filters": [f.json() for f in policy.filters],
        "replicate_deletion": policy.replicate_deletion,
        "deletion": policy.replicate_deletion,
        "override": policy.override,
        "enabled": policy.enabled,
        "creation_time": harbor_time(policy.creation_time),
        "update_time": harbor_time(policy.update_time),
        "speed": policy.speed,
        "copy_by_chunk": False,
        "single_active_replication": False,
    }


def _time(seconds: float) -> str:
    return harbor_time(seconds) if seconds else ""


def execution_json(execution: ExecutionInfo) -> dict[str, Any]:
    counts = execution.counts
    out = {
        "id": execution.id,
        "policy_id": execution.policy_id,
        "status": EXECUTION_STATUS[execution.status],
        "trigger": execution.trigger,
        "start_time": harbor_time(execution.start_time),
        "status_text": execution.status_text,
        "total": sum(counts.values()),
        "failed": counts.get(ERROR, 0),
        "succeed": counts.get(SUCCESS, 0),
        "in_progress": counts.get(PENDING, 0) + counts.get(RUNNING, 0),
        "stopped": counts.get(STOPPED, 0),
    }
    if execution.end_time:
        out["end_time"] = harbor_time(execution.end_time)
    return out


def task_json(task: TaskInfo) -> dict[str, Any]:
    t = task.task
    dst = f"{t.dst_repository}:{t.dst_tag}" if t.dst_tag else t.dst_repository
    if task.operation == "delete":  # Harbor's names: deletion, or tag deletion
        dst = f"{t.dst_repository}{'@' if ':' in t.src_reference else ':'}{t.src_reference}"
    out = {
        "id": task.id,
        "execution_id": task.execution_id,
        "status": TASK_STATUS[task.status],
        "job_id": str(task.id),
        "operation": _OPERATIONS.get((task.operation, ":" in t.src_reference), task.operation),
        "resource_type": "artifact",
        "src_resource": f"{t.src_repository}{'@' if ':' in t.src_reference else ':'}"
        f"{t.src_reference}",
        "dst_resource": dst,
    }
    if task.start_time:
        out["start_time"] = harbor_time(task.start_time)
    if task.end_time:
        out["end_time"] = harbor_time(task.end_time)
    return out


async def _replication(call: Call, resource: str, action: str) -> Replication:
    access_of(call)
    await call.require(None, resource, action)
    return await call.run(replication_of, call.registry)


def _id(call: Call, name: str = "id") -> int:
    raw = call.param(name)
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18):
        raise BadRequest(f"{name} must be a positive integer, not {raw[:40]!r}")
    return int(raw)


def _query_int(call: Call, name: str) -> int | None:
    raw = call.query(name)
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise BadRequest(f"{name} must be an integer, not {raw[:40]!r}")
    return int(raw)


def _destination(replication: Replication, policy: Policy) -> RemoteRegistry | None:
    try:
        return replication.registries.get(policy.endpoint_id)
    except RegistryNotFound:
        return None


# --- policies -------------------------------------------------------------------------------


async def list_policies(call: Call) -> Reply:
    replication = await _replication(call, POLICY, "list")
    parse_sort(call.query("sort"), ("id",))
    name = call.query("name")
    for key, term in parse_query(call.query("q")).items():
        if key == "name" and isinstance(term, Exact | Fuzzy):
            name = term.value
        else:
            raise BadRequest(f"cannot filter replication policies by {key!r}",
                             hint="use q=name=~…")  # fmt: skip
    page = call.page()

    def listing() -> tuple[list[dict[str, Any]], int]:
        found, total = replication.policies.listing(name=name, page=page.number, size=page.size)
        return [policy_json(p, _destination(replication, p)) for p in found], total

    items, total = await call.run(listing)
    return call.paged(items, total, page)


async def create_policy(call: Call) -> Reply:
    identity = await call.identity()
    replication = await _replication(call, POLICY, "create")
    body = await call.json_body()
    policy = policy_from_json(body, creator=identity.name)
    created = await call.run(replication.policies.create, policy)
    return Reply(status=201, headers=[("Location", f"/api/v2.0/replication/policies/{created.id}")])


async def get_policy(call: Call) -> Reply:
    replication = await _replication(call, POLICY, "read")

    def one() -> dict[str, Any]:
        policy = replication.policies.get(_id(call))
        return policy_json(policy, _destination(replication, policy))

    return Reply(json=await call.run(one))


async def update_policy(call: Call) -> Reply:
    replication = await _replication(call, POLICY, "update")
    body = await call.json_body()
    base = await call.run(replication.policies.get, _id(call))
    await call.run(replication.policies.update, policy_from_json(body, base=base))
    return Reply()


async def delete_policy(call: Call) -> Reply:
    replication = await _replication(call, POLICY, "delete")
    await call.run(replication.policies.delete, _id(call))
    return Reply()


# --- executions -----------------------------------------------------------------------------


async def list_executions(call: Call) -> Reply:
    replication = await _replication(call, EXECUTION, "list")
    parse_sort(call.query("sort"), ("id", "start_time"))
    page = call.page()
    status = call.query("status")
    wanted = {v: k for k, v in EXECUTION_STATUS.items()}
    if status and status not in wanted:
        raise BadRequest(f"status must be one of {', '.join(wanted)}")
    # a status is computed from the tasks: with one asked for, filtered here
    number, size = (1, MAX_FILTERED) if status else (page.number, page.size)
    found, total = await call.run(
        partial(replication.queue.executions, policy_id=_query_int(call, "policy_id"),
                trigger=call.query("trigger") or None, page=number, size=size)
    )  # fmt: skip
    if status:
        found = [e for e in found if e.status == wanted[status]]
        total = len(found)
        found = found[page.offset : page.offset + page.size]
    return call.paged([execution_json(e) for e in found], total, page)


async def start_execution(call: Call) -> Reply:
    replication = await _replication(call, EXECUTION, "create")
    body = await call.json_body()
    policy_id = body.get("policy_id")
    if isinstance(policy_id, bool) or not isinstance(policy_id, int):
        raise BadRequest("policy_id must be the id of a replication policy")
    execution = await call.run(replication.start_manual, policy_id)
    return Reply(
        status=201, headers=[("Location", f"/api/v2.0/replication/executions/{execution}")]
    )


async def get_execution(call: Call) -> Reply:
    replication = await _replication(call, EXECUTION, "read")
    execution = await call.run(replication.queue.execution, _id(call))
    return Reply(json=execution_json(execution))


async def stop_execution(call: Call) -> Reply:
    replication = await _replication(call, EXECUTION, "create")
    await call.run(replication.stop, _id(call))
    return Reply()


async def list_tasks(call: Call) -> Reply:
    replication = await _replication(call, EXECUTION, "list")
    parse_sort(call.query("sort"), ("id",))
    page = call.page()
    execution_id = _id(call)
    await call.run(replication.queue.execution, execution_id)
    status = call.query("status")
    if status and status not in _FROM_TASK_STATUS:
        raise BadRequest(f"status must be one of {', '.join(_FROM_TASK_STATUS)}")
    resource = call.query("resource_type")
    if resource and resource != "artifact":
        return call.paged([], 0, page)
    found, total = await call.run(
        partial(replication.queue.tasks, execution_id,
                status=_FROM_TASK_STATUS[status] if status else None, page=page.number,
                size=page.size)
    )  # fmt: skip
    return call.paged([task_json(t) for t in found], total, page)


async def task_log(call: Call) -> Reply:
    replication = await _replication(call, EXECUTION, "read")
    task = await call.run(replication.queue.task, _id(call), _id(call, "task_id"))
    return Reply(text=task.log)
