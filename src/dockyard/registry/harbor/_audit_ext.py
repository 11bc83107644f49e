"""``/auditlog-exts``, ``/auditlog-exts/events`` and ``/projects/{project_name}/auditlog-exts``:
Harbor 2.13's audit log with each entry's outcome, over the same table as ``/audit-logs``.

An entry is Harbor's ``AuditLogExt``: ``operation_result`` says whether the operation worked
(``false`` for failed logins, lockouts and refused pushes, pulls, deletes and API calls) and
``operation_description`` carries the detail (why a login failed, "3 times" for merged
entries). ``q=`` takes ``/audit-logs``' filters plus ``op_result=true|false`` (Harbor's column
name); visibility is Harbor's: the system's ``audit-log`` access reads everything, anyone else
signed in reads the projects whose ``log`` they may list.

dockyard adds ``bucket=<seconds>`` to ``/auditlog-exts`` (Harbor has no such parameter, so
Harbor's answers are unchanged): with a closed ``op_time=[start~end]`` range in ``q=``, the
answer is not the entries but their counts, per operation and per ``bucket`` seconds from
``start``, in one grouped query: ``[{"operation", "op_time" (the interval's start), "count"}]``,
intervals without entries left out. The dashboard's charts are made of it.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from functools import partial
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
from dockyard.registry.harbor._errors import BadRequest
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
    if call.query("bucket") is not None:
        return await _counts(call, AuditQuery(projects=projects, **filters))
    return await audit_page(call, AuditQuery(projects=projects, **filters), audit_ext_json)


#: the most intervals one ``bucket=`` answer counts
MAX_BUCKETS = 1000


async def _counts(call: Call, query: AuditQuery) -> Reply:
    """The entries ``query`` matches counted per operation and ``bucket=`` interval."""
    hint = "e.g. q=op_time=[1700000000~1702591999]&bucket=86400 (a day)"
    try:
        step = int(call.query("bucket") or "")
    except ValueError:
        raise BadRequest("bucket must be a whole number of seconds", hint=hint) from None
    if step <= 0 or query.since is None or query.until is None or query.until < query.since:
        raise BadRequest("bucket needs a positive number of seconds and a closed "
                         "op_time=[start~end] range in q", hint=hint)  # fmt: skip
    start = query.since
    steps = max(1, math.ceil((query.until - start) / step))
    if steps > MAX_BUCKETS:
        raise BadRequest(f"bucket would count {steps} intervals; at most {MAX_BUCKETS}",
                         hint="ask for a shorter op_time range or a larger bucket")  # fmt: skip
    counts = await call.run(
        partial(access_of(call).audit.counts, query, start=start, step=step, steps=steps)
    )
    return Reply(json=[
        {"operation": operation, "op_time": harbor_time(start + i * step), "count": n}
        for operation in sorted(counts)
        for i, n in enumerate(counts[operation])
        if n
    ])  # fmt: skip


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
