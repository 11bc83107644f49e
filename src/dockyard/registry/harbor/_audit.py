"""``/audit-logs`` and ``/projects/{project_name}/logs``: who did what, newest first.

``q=`` filters by ``operation``, ``resource``, ``resource_type``, ``username`` (exact, ``~``
contains, ``{a b}`` one of) and ``op_time=[2024-01-01T00:00:00~2024-02-01T00:00:00]``;
``sort=-op_time`` (the default) or ``sort=op_time``. The system's ``audit-log`` accesses read
everything; anyone else signed in reads the logs of the projects whose ``log`` they may list.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from functools import partial
from typing import Any

from dockyard.registry.access import AccessService, AuditEntry, AuditQuery, Match
from dockyard.registry.harbor._access import access_of, require_project
from dockyard.registry.harbor._access_json import audit_json
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest
from dockyard.registry.harbor._query import (
    Exact,
    Fuzzy,
    OrList,
    Range,
    Value,
    parse_query,
    parse_sort,
)
from dockyard.registry.identity import Identity

__all__ = [
    "audit_filters",
    "audit_page",
    "list_audit_logs",
    "list_project_logs",
    "oldest_first",
    "readable_projects",
]

_TEXT_KEYS = ("operation", "resource", "resource_type", "username")


def _seconds(value: Value | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int):
        return float(value)
    # Harbor's q parser keeps other text as a string, which its database compares as a time:
    # "2006-01-02 15:04:05" (as date pickers send it) and "2006-01-02" are times there too
    for layout in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, layout).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise BadRequest(f"op_time range ends must be times (2006-01-02T15:04:05), not {value!r}")


def _result(term: object) -> bool:
    value = term.value if isinstance(term, Exact) else None
    if value not in ("true", "false"):
        raise BadRequest("op_result must be true or false", hint="e.g. q=op_result=false")
    return value == "true"


def audit_filters(call: Call, *, results: bool = False) -> dict[str, Any]:
    """:class:`AuditQuery` arguments from ``q=``; ``results``: ``op_result=true|false`` too
    (the ``auditlog-exts`` listings)."""
    out: dict[str, Any] = {}
    for key, term in parse_query(call.query("q")).items():
        if results and key == "op_result":
            out["ok"] = _result(term)
            continue
        if key in _TEXT_KEYS and isinstance(term, Exact):
            out[key] = term.value
        elif key in _TEXT_KEYS and isinstance(term, Fuzzy):
            out[key] = Match(term.value, fuzzy=True)
        elif key in _TEXT_KEYS and isinstance(term, OrList):
            out[key] = Match(tuple(str(v) for v in term.values))
        elif key == "op_time" and isinstance(term, Range):
            out["since"], out["until"] = _seconds(term.min), _seconds(term.max)
        else:
            raise BadRequest(
                f"cannot filter audit logs by {key!r} that way",
                hint="filter by operation, resource, resource_type, username (=, =~, ={a b}) "
                "or op_time=[min~max]" + (", or op_result=true|false" if results else ""),
            )
    return out


def oldest_first(call: Call) -> bool:
    keys = parse_sort(call.query("sort"), ("op_time",))
    return bool(keys) and not keys[0][1]


def readable_projects(access: AccessService, identity: Identity) -> list[str]:
    """Projects whose logs a caller without the system's audit-log access may read: those it
    is a member of (directly or through a group) where it may list ``log``."""
    if identity.kind != "user" or identity.id is None:
        return []
    roles = access.members.roles(identity.id, identity.groups)
    names = []
    for project_id in sorted(roles):
        project = access.projects.find(project_id)
        if project is not None and access.can(identity, project.name, "log", "list"):
            names.append(project.name)
    return names


async def audit_page(
    call: Call, query: AuditQuery, render: Callable[[AuditEntry], dict[str, Any]] = audit_json
) -> Reply:
    """One page of the entries ``query`` matches, newest first unless ``sort=op_time``."""
    page = call.page()
    found = await call.run(
        partial(
            access_of(call).audit.query, query, page=page.number, page_size=page.size,
            oldest_first=oldest_first(call),
        )
    )  # fmt: skip
    return call.paged([render(e) for e in found.items], found.total, page)


async def list_audit_logs(call: Call) -> Reply:
    access = access_of(call)
    call.page()
    filters = audit_filters(call)
    oldest_first(call)
    identity = await call.authenticated()
    projects: Collection[str] | None = None
    if not await call.allowed(None, "audit-log", "list"):
        projects = await call.run(readable_projects, access, identity)
    return await audit_page(call, AuditQuery(projects=projects, **filters))


async def list_project_logs(call: Call) -> Reply:
    call.page()
    filters = audit_filters(call)
    oldest_first(call)
    _, project = await require_project(call, call.param("project_name"), "log", "list")
    return await audit_page(call, AuditQuery(project=Match(project.name), **filters))
