"""What the access-model endpoints share: the :class:`AccessService` behind the API, the project
a path names (by name or id, with Harbor's ``X-Is-Resource-Name``), and the checks every
handler makes before it reads or changes anything.

Harbor answers a caller who may not act in a project the same whether or not the project
exists (401 anonymous, 403 signed in); only a caller who may act there learns that it is
missing (404). These helpers keep that order.
"""

from __future__ import annotations

from typing import Any

from dockyard.errors import NotFound
from dockyard.registry.access import AccessService, Project
from dockyard.registry.harbor._call import Call
from dockyard.registry.harbor._errors import BadRequest, PreconditionFailed
from dockyard.registry.harbor._query import parse_bool
from dockyard.registry.identity import Identity

__all__ = [
    "access_of",
    "body_int",
    "body_str",
    "optional_str",
    "project_in_path",
    "project_ref",
    "require_project",
]


def access_of(call: Call) -> AccessService:
    """The API's access model; 412 when the registry runs without one."""
    access = call.api.access
    if access is None:
        raise PreconditionFailed(
            "this registry has no projects, users or robots: it runs without the access model",
            hint="serve it with auth: projects (REGISTRY_AUTH=projects)",
        )
    return access


def project_ref(call: Call, param: str = "project_name_or_id") -> str | int:
    """The path's project as Harbor reads it: a name when ``X-Is-Resource-Name: true``,
    else an id when it is all digits, else a name."""
    raw = call.param(param)
    if parse_bool("X-Is-Resource-Name", call.request.header("x-is-resource-name"), False):
        return raw
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return raw


async def require_project(
    call: Call, ref: str | int, resource: str, action: str
) -> tuple[Identity, Project]:
    """The caller and the project, when the caller may ``action`` on ``resource`` there.
    401/403 for a caller who may not (whether or not the project exists); 404 otherwise."""
    access = access_of(call)
    found = await call.run(access.projects.find, ref)
    # a project that does not exist is asked about by a name no project can have (""), so
    # only a system administrator gets past the check to learn that it is missing
    identity = await call.require(found.name if found else "", resource, action)
    if found is None:
        shown = ref if isinstance(ref, int) else repr(ref[:80])
        raise NotFound(f"project {shown} not found", hint="list projects to see their names")
    return identity, found


async def project_in_path(
    call: Call, resource: str, action: str, param: str = "project_name_or_id"
) -> tuple[Identity, Project]:
    return await require_project(call, project_ref(call, param), resource, action)


def body_str(body: dict[str, Any], key: str, default: str = "") -> str:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be a string")
    return value


def optional_str(body: dict[str, Any], key: str) -> str | None:
    return body_str(body, key) if body.get(key) is not None else None


def body_int(body: dict[str, Any], key: str) -> int | None:
    """An integer field (None when missing or null); BadRequest for anything else."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{key} must be an integer")
    if not -(2**63) <= value < 2**63:
        raise BadRequest(f"{key} is out of range")
    return value
