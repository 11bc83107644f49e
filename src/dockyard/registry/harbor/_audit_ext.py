"""``/auditlog-exts``, ``/auditlog-exts/events`` and ``/projects/{project_name}/auditlog-exts``:
Harbor 2.13's audit log with each entry's outcome, over the same table as ``/audit-logs``.

An entry is Harbor's ``AuditLogExt``: ``operation_result`` says whether the operation worked
(``false`` for failed logins, lockouts and refused pushes, pulls, deletes and API calls) and
``operation_description`` carries the detail (why a login failed, "3 times" for merged
entries). ``q=`` takes ``/audit-logs``' filters plus ``op_result=true|false`` (Harbor's column
name); visibility is Harbor's: the system's ``audit-log`` access reads everything, anyone else
signed in reads the projects whose ``log`` they may list.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from dockyard.registry.access import AuditEntry, AuditQuery, Match
from dockyard.registry.harbor._access import access_of, require_project
from dockyard.registry.harbor._audit import (
    audit_filters,
    audit_page,
    oldest_first,
    readable_projects,
)
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._models import harbor_time

__all__ = [
    "EVENT_TYPES",
    "audit_ext_json",
    "list_audit_log_event_types",
    "list_audit_log_exts",
    "list_project_log_exts",
]

#: The ``<operation>_<resource_type>`` pairs dockyard writes (Harbor's names where Harbor has
#: the event; a refused API call is written as the permission it lacked, e.g. ``create`` of
#: ``robot``, so it falls under these names too).
EVENT_TYPES = (
    "create_artifact", "delete_artifact", "pull_artifact", "create_project", "delete_project",
    "update_project", "login_user", "create_user", "create_robot", "update_robot",
    "delete_robot", "create_project_member", "update_project_member", "delete_project_member",
    "login_lockout_client", "login_lockout_user", "promote_artifact",
)  # fmt: skip


def audit_ext_json(entry: AuditEntry) -> dict[str, Any]:
    """Harbor's ``AuditLogExt``."""
    return {
        "id": entry.id,
        "username": entry.username,
        "resource": entry.resource,
        "resource_type": entry.resource_type,
        "operation": entry.operation,
        "operation_description": entry.description,
        "operation_result": entry.ok,
        "op_time": harbor_time(entry.op_time),
    }


async def list_audit_log_exts(call: Call) -> Reply:
    access = access_of(call)
    call.page()
    filters = audit_filters(call, results=True)
    oldest_first(call)
    identity = await call.authenticated()
    projects: Collection[str] | None = None
    if not await call.allowed(None, "audit-log", "list"):
        projects = await call.run(readable_projects, access, identity)
    return await audit_page(call, AuditQuery(projects=projects, **filters), audit_ext_json)


async def list_project_log_exts(call: Call) -> Reply:
    call.page()
    filters = audit_filters(call, results=True)
    oldest_first(call)
    _, project = await require_project(call, call.param("project_name"), "log", "list")
    query = AuditQuery(project=Match(project.name), **filters)
    return await audit_page(call, query, audit_ext_json)


async def list_audit_log_event_types(call: Call) -> Reply:
    access_of(call)
    await call.require(None, "audit-log", "list")
    return Reply(json=[{"event_type": name} for name in EVENT_TYPES])
