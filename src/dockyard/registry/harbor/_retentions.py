"""``/retentions…``: Harbor's tag retention API (policies, executions, tasks and their logs)
over :class:`~dockyard.registry.retention.RetentionService`. Permissions are the policy's
project's ``tag-retention`` resource, with Harbor's actions: create, read, update (also to run
or stop an execution), delete, list."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from dockyard.errors import NotFound
from dockyard.registry.harbor._access import access_of
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest
from dockyard.registry.harbor._models import DEFINITIONS, harbor_time
from dockyard.registry.retention import (
    METADATA,
    Execution,
    Policy,
    RetentionService,
    Task,
    policy_json,
)
from dockyard.registry.retention._runner import FAILED, STOPPED, SUCCESS

if TYPE_CHECKING:
    from dockyard.registry.harbor._api import HarborApi

__all__ = [
    "attach_retention",
    "create_retention",
    "delete_retention",
    "get_metadatas",
    "get_retention",
    "get_task_log",
    "list_executions",
    "list_tasks",
    "operate_execution",
    "trigger_execution",
    "update_retention",
]

RESOURCE = "tag-retention"
_SERVICES: weakref.WeakKeyDictionary[HarborApi, RetentionService] = weakref.WeakKeyDictionary()
#: Harbor's job status codes
_CODES = {"Pending": 0, "Running": 1, STOPPED: 2, FAILED: 3, SUCCESS: 3}

#: Harbor's definitions of what these endpoints take and answer (served in swagger.json).
RETENTION_DEFINITIONS: dict[str, dict[str, Any]] = {
    "RetentionMetadata": {
        "type": "object",
        "description": "the tag retention metadata",
        "properties": {
            "templates": {
                "type": "array",
                "description": "templates",
                "items": {"$ref": "#/definitions/RetentionRuleMetadata"},
            },
            "scope_selectors": {
                "type": "array",
                "description": "supported scope selectors",
                "items": {"$ref": "#/definitions/RetentionSelectorMetadata"},
            },
            "tag_selectors": {
                "type": "array",
                "description": "supported tag selectors",
                "items": {"$ref": "#/definitions/RetentionSelectorMetadata"},
            },
        },
    },
    "RetentionRuleMetadata": {
        "type": "object",
        "description": "the tag retention rule metadata",
        "properties": {
            "rule_template": {"type": "string", "description": "rule id"},
            "display_text": {"type": "string", "description": "rule display text"},
            "action": {"type": "string", "description": "rule action"},
            "params": {
                "type": "array",
                "description": "rule params",
                "items": {"$ref": "#/definitions/RetentionRuleParamMetadata"},
            },
        },
    },
    "RetentionRuleParamMetadata": {
        "type": "object",
        "description": "rule param",
        "properties": {
            "type": {"type": "string"},
            "unit": {"type": "string"},
            "required": {"type": "boolean"},
        },
    },
    "RetentionSelectorMetadata": {
        "type": "object",
        "description": "retention selector",
        "properties": {
            "display_text": {"type": "string"},
            "kind": {"type": "string"},
            "decorations": {"type": "array", "items": {"type": "string"}},
        },
    },
    "RetentionPolicy": {
        "type": "object",
        "description": "retention policy",
        "properties": {
            "id": {"type": "integer", "format": "int64"},
            "algorithm": {"type": "string"},
            "rules": {"type": "array", "items": {"$ref": "#/definitions/RetentionRule"}},
            "trigger": {"$ref": "#/definitions/RetentionRuleTrigger"},
            "scope": {"$ref": "#/definitions/RetentionPolicyScope"},
        },
    },
    "RetentionRuleTrigger": {
        "type": "object",
        "properties": {
            "kind": {"type": "string"},
            "settings": {"type": "object"},
            "references": {"type": "object"},
        },
    },
    "RetentionPolicyScope": {
        "type": "object",
        "properties": {"level": {"type": "string"}, "ref": {"type": "integer"}},
    },
    "RetentionRule": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "priority": {"type": "integer"},
            "disabled": {"type": "boolean"},
            "action": {"type": "string"},
            "template": {"type": "string"},
            "params": {"type": "object", "additionalProperties": {"type": "object"}},
            "tag_selectors": {
                "type": "array",
                "items": {"$ref": "#/definitions/RetentionSelector"},
            },
            "scope_selectors": {
                "type": "object",
                "additionalProperties": {
                    "type": "array",
                    "items": {"$ref": "#/definitions/RetentionSelector"},
                },
            },
        },
    },
    "RetentionSelector": {
        "type": "object",
        "properties": {
            "kind": {"type": "string"},
            "decoration": {"type": "string"},
            "pattern": {"type": "string"},
            "extras": {"type": "string"},
        },
    },
    "RetentionExecution": {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "format": "int64"},
            "policy_id": {"type": "integer", "format": "int64"},
            "start_time": {"type": "string"},
            "end_time": {"type": "string"},
            "status": {"type": "string"},
            "trigger": {"type": "string"},
            "dry_run": {"type": "boolean"},
        },
    },
    "RetentionExecutionTask": {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "format": "int64"},
            "execution_id": {"type": "integer", "format": "int64"},
            "repository": {"type": "string"},
            "job_id": {"type": "string"},
            "status": {"type": "string"},
            "status_code": {"type": "integer"},
            "status_revision": {"type": "integer", "format": "int64"},
            "start_time": {"type": "string"},
            "end_time": {"type": "string"},
            "total": {"type": "integer"},
            "retained": {"type": "integer"},
        },
    },
}
DEFINITIONS.update(RETENTION_DEFINITIONS)


def attach_retention(api: HarborApi, service: RetentionService) -> None:
    """Serve ``service`` (with its event sink and schedule) behind ``api``'s endpoints."""
    _SERVICES[api] = service


def _make(call: Call) -> RetentionService:
    service = _SERVICES.get(call.api)
    if service is None or service.registry is not call.registry:
        service = RetentionService(call.registry, access_of(call))
        _SERVICES[call.api] = service
    return service


async def _service(call: Call) -> RetentionService:
    access_of(call)
    return await call.run(_make, call)


async def _policy(call: Call, action: str) -> tuple[RetentionService, Policy, str]:
    """The path's policy and its project's name, when the caller may ``action`` on it."""
    access_of(call)
    await call.authenticated()
    service = await _service(call)
    policy = await call.run(service.policies.find, int(call.params["id"]))
    if policy is None:
        raise NotFound(f"retention policy {call.params['id']} not found")
    project = await call.run(service.access.projects.find, policy.project_id)
    if project is None:
        raise NotFound(f"the project of retention policy {policy.id} no longer exists")
    await call.require(project.name, RESOURCE, action)
    return service, policy, project.name


def _execution_json(e: Execution) -> dict[str, Any]:
    return {
        "id": e.id,
        "policy_id": e.policy_id,
        "start_time": harbor_time(e.start_time),
        "end_time": "" if e.end_time is None else harbor_time(e.end_time),
        "status": e.status,
        "trigger": e.trigger,
        "dry_run": e.dry_run,
    }


def _task_json(t: Task) -> dict[str, Any]:
    return {
        "id": t.id,
        "execution_id": t.execution_id,
        "repository": t.repository,
        "job_id": f"retention-{t.execution_id}-{t.id}",
        "status": t.status,
        "status_code": _CODES.get(t.status, 0),
        "status_revision": 0,
        "start_time": harbor_time(t.start_time),
        "end_time": "" if t.end_time is None else harbor_time(t.end_time),
        "total": t.total,
        "retained": t.retained,
    }


async def get_metadatas(call: Call) -> Reply:
    access_of(call)
    await call.authenticated()
    return Reply(json=METADATA)


async def create_retention(call: Call) -> Reply:
    access_of(call)
    await call.authenticated()
    body = await call.json_body()
    scope = body.get("scope")
    ref = scope.get("ref") if isinstance(scope, dict) else None
    service = await _service(call)
    project = None
    if isinstance(ref, int) and not isinstance(ref, bool):
        project = await call.run(service.access.projects.find, ref)
    if project is None:
        raise BadRequest(f"invalid Project id {ref}",
                         hint='"scope": {"level": "project", "ref": <the project id>}')  # fmt: skip
    await call.require(project.name, RESOURCE, "create")
    pid = await call.run(service.create, body)
    return Reply(status=201, headers=[("Location", f"{call.request.path.rstrip('/')}/{pid}")])


async def get_retention(call: Call) -> Reply:
    _, policy, _ = await _policy(call, "read")
    return Reply(json=policy_json(policy))


async def update_retention(call: Call) -> Reply:
    service, policy, _ = await _policy(call, "update")
    body = await call.json_body()
    await call.run(service.update, policy.id, body)
    return Reply()


async def delete_retention(call: Call) -> Reply:
    service, policy, _ = await _policy(call, "delete")
    await call.run(service.delete, policy.id)
    return Reply()


async def trigger_execution(call: Call) -> Reply:
    service, policy, _ = await _policy(call, "update")
    body = await call.json_body()
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise BadRequest("dry_run must be a boolean")
    eid = await call.run(service.trigger, policy.id, dry_run=dry_run)
    return Reply(status=201, headers=[("Location", f"{call.request.path.rstrip('/')}/{eid}")])


async def list_executions(call: Call) -> Reply:
    service, policy, _ = await _policy(call, "list")
    page = call.page()
    total, rows = await call.run(service.executions.history, policy.id, page.offset, page.size)
    return call.paged([_execution_json(e) for e in rows], total, page)


async def operate_execution(call: Call) -> Reply:
    service, policy, _ = await _policy(call, "update")
    body = await call.json_body()
    if body.get("action") != "stop":
        raise BadRequest("action should be 'stop'")
    await call.run(service.stop, policy.id, int(call.params["eid"]))
    return Reply()


async def list_tasks(call: Call) -> Reply:
    service, policy, _ = await _policy(call, "list")
    eid = int(call.params["eid"])
    await call.run(service.execution, policy.id, eid)
    page = call.page()
    total, rows = await call.run(service.executions.tasks, eid, page.offset, page.size)
    return call.paged([_task_json(t) for t in rows], total, page)


async def get_task_log(call: Call) -> Reply:
    service, policy, _ = await _policy(call, "read")
    eid = int(call.params["eid"])
    await call.run(service.execution, policy.id, eid)
    task, log = await call.run(service.executions.task, int(call.params["tid"]))
    if task.execution_id != eid:
        raise NotFound(f"retention task {task.id} not found in execution {eid}")
    return Reply(text=log)
