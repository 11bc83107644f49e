"""``/projects``: list, create, check, read, update and delete projects, and their summary.

As Harbor: anyone may list (anonymous callers see public projects; signed-in users public
ones and those they are members of; system administrators all); a signed-in user or a system
robot may create one (only system administrators when creation is ``adminonly``); reading,
updating and deleting ask the project's ``project`` resource; a project that still holds
repositories cannot be deleted (412).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

from dockyard.errors import Denied, NotFound
from dockyard.registry.access import Project, Role
from dockyard.registry.harbor._access import (
    access_of,
    body_int,
    body_str,
    project_in_path,
)
from dockyard.registry.harbor._access_json import project_json
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest
from dockyard.registry.harbor._query import Exact, Fuzzy, OrList, parse_bool, parse_query
from dockyard.registry.harbor._query import parse_sort as parse_sort_keys
from dockyard.registry.identity import Identity
from dockyard.registry.proxy.projects import PROXY_CACHE_TYPES
from dockyard.registry.replication import RegistryNotFound, replication_of

__all__ = [
    "create_project",
    "delete_project",
    "get_project",
    "get_project_deletable",
    "get_project_summary",
    "head_project",
    "list_projects",
    "metadata_of",
    "update_project",
]

#: Metadata only a proxy-cache project has: Harbor drops them for any other project.
PROXY_METADATA = ("proxy_speed_kb", "max_upstream_conn", "proxy_cache_filter_pattern",
                  "proxy_cache_filter_kind")  # fmt: skip


def metadata_of(body: dict[str, Any], key: str = "metadata") -> dict[str, str]:
    """A ProjectMetadata object from ``body`` (strings; booleans spelt as Harbor's)."""
    raw = body.get(key)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise BadRequest(f"{key} must be an object of strings")
    out: dict[str, str] = {}
    for name, value in raw.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str):
            raise BadRequest(f"{key}.{str(name)[:64]} must be a string")
        out[str(name)] = value
    return out


def _check_allowlist(body: dict[str, Any], project_id: int | None = None) -> None:
    allowlist = body.get("cve_allowlist")
    if allowlist is None:
        return
    if not isinstance(allowlist, dict):
        raise BadRequest("cve_allowlist must be an object")
    pid = body_int(allowlist, "project_id")
    if project_id is not None and pid not in (None, 0, project_id):
        raise BadRequest(f"project_id in cve_allowlist must be {project_id} but it's {pid}")
    if allowlist.get("items"):
        raise BadRequest(
            "this registry keeps no CVE allowlists", hint="leave cve_allowlist.items empty"
        )


def _filters(call: Call) -> dict[str, Any]:
    """``name``, ``names``, ``public`` and ``owner`` from ``q=`` and the plain parameters."""
    out: dict[str, Any] = {}
    for key, term in parse_query(call.query("q")).items():
        if key == "name" and isinstance(term, Fuzzy):
            out["name"] = term.value
        elif key == "name" and isinstance(term, Exact):
            out["names"] = (term.value,)
        elif key == "name" and isinstance(term, OrList):
            out["names"] = tuple(str(v) for v in term.values)
        elif key == "public" and isinstance(term, Exact):
            out["public"] = parse_bool("public", term.value, False)
        elif key == "owner" and isinstance(term, Exact):
            out["owner"] = term.value
        else:
            raise BadRequest(
                f"cannot filter projects by {key!r} that way",
                hint="use q=name=…, name=~…, name={a b}, public=true or owner=…",
            )
    name = call.query("name")
    if name:
        out["name"] = name
    owner = call.query("owner")
    if owner:
        out["owner"] = owner
    if call.query("public") is not None:
        out["public"] = parse_bool("public", call.query("public"), False)
    return out


async def list_projects(call: Call) -> Reply:
    access = access_of(call)
    page = call.page()
    filters = _filters(call)
    detail = parse_bool("with_detail", call.query("with_detail"), True)
    parse_sort_keys(call.query("sort"), ("name",))  # listed by name, always
    identity = await call.identity()
    found = await call.run(
        partial(access.list_projects, identity, page=page.number, page_size=page.size, **filters)
    )
    items = [project_json(p, detail=detail) for p in found.items]
    return call.paged(items, found.total, page)


def _location(call: Call, project: Project) -> str:
    by_name = parse_bool(
        "X-Resource-Name-In-Location", call.request.header("x-resource-name-in-location"), False
    )
    return f"{call.request.path.rstrip('/')}/{project.name if by_name else project.id}"


async def _creator(call: Call) -> tuple[Identity, bool]:
    """The caller who may create a project, and whether it may also set its quota (a
    system administrator or a system robot, as Harbor's ``isSysAdmin``)."""
    identity = await call.authenticated()
    access = access_of(call)
    if identity.kind == "robot":
        robot = await call.run(access.robots.by_login_name, identity.name)
        if robot is None or robot.level != "system":
            raise Denied("only a system level robot can create a project")
    await call.require(None, "project", "create")
    admin = identity.kind == "robot" or identity.sysadmin
    if call.api.settings.project_creation_restriction == "adminonly" and not admin:
        raise Denied(
            "only a system administrator can create a project here",
            hint="ask an administrator to create it and add you as a member",
        )
    return identity, admin


async def _proxy_endpoint(call: Call, raw: object, admin: bool) -> int:
    """The endpoint registry a proxy cache project is created for (Harbor's checks)."""

    if not admin:
        raise Denied("Only system admin can create proxy cache project")
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise BadRequest("registry_id must be an integer")
    if raw <= 0:
        raise BadRequest(f"{raw} is invalid value of registry_id, it should be greater than 0")
    replication = await call.run(replication_of, call.registry)
    try:
        endpoint = await call.run(replication.registries.get, raw)
    except RegistryNotFound:
        raise BadRequest(
            f"registry {raw} not found", hint="create it with POST /api/v2.0/registries"
        ) from None
    if endpoint.type not in PROXY_CACHE_TYPES:
        raise BadRequest(
            f"unsupported registry type {endpoint.type}",
            hint="a proxy cache project pulls from one of " + ", ".join(PROXY_CACHE_TYPES),
        )
    return raw


def _check_proxy_metadata(metadata: dict[str, str]) -> None:
    """``proxy_speed_kb`` and ``max_upstream_conn`` must be int32s, as Harbor checks them."""
    for key in ("proxy_speed_kb", "max_upstream_conn"):
        value = metadata.get(key)
        if value is None:
            continue
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or not -(2**31) <= number < 2**31:
            raise BadRequest(f"metadata.{key} should be an int32, but got: {value[:32]!r}")


async def create_project(call: Call) -> Reply:
    access = access_of(call)
    identity, admin = await _creator(call)
    body = await call.json_body()
    name = body_str(body, "project_name")
    if not name:
        raise BadRequest("project_name is required")
    public = body.get("public")
    if public is not None and not isinstance(public, bool):
        raise BadRequest("public must be true or false")
    registry_id = None
    if body.get("registry_id") is not None:
        registry_id = await _proxy_endpoint(call, body["registry_id"], admin)
    _check_allowlist(body)
    metadata = metadata_of(body)
    if metadata.pop("retention_id", ""):
        raise BadRequest(
            "the retention_id in the request's payload when creating a project should be "
            "omitted, alternatively passing an empty string"
        )
    if registry_id is not None:
        _check_proxy_metadata(metadata)
        metadata.pop("enable_content_trust", None)  # as Harbor: no content trust in a proxy
    for key in PROXY_METADATA:  # accepted for a proxy project, not kept (docs/mirror.md)
        metadata.pop(key, None)
    if "public" not in metadata:
        metadata["public"] = "true" if public else "false"
    limit = body_int(body, "storage_limit")
    if not admin or limit is None or limit == 0:
        limit = -1
    project = await call.run(
        partial(
            access.create_project, identity, name, metadata=metadata, storage_limit=limit,
            client_ip=call.client_ip, registry_id=registry_id,
        )
    )  # fmt: skip
    return Reply(status=201, headers=[("Location", _location(call, project))])


async def head_project(call: Call) -> Reply:
    access_of(call)
    await call.authenticated()
    name = call.query("project_name")
    if not name:
        raise BadRequest("project_name is required", hint="HEAD /projects?project_name=…")
    if await call.run(access_of(call).projects.find, name) is None:
        raise NotFound(f"project {name[:80]!r} not found")
    return Reply()


def _with_roles(call: Call, identity: Identity, project: Project) -> Project:
    """The project with the caller's roles in it (a user's, through groups too)."""
    if identity.kind != "user" or identity.id is None:
        return project
    roles = access_of(call).members.roles(identity.id, identity.groups, project_id=project.id)
    return dataclasses.replace(
        project, current_user_role_ids=tuple(sorted(roles.get(project.id, ())))
    )


async def get_project(call: Call) -> Reply:
    identity, project = await project_in_path(call, "project", "read")
    shown = await call.run(_with_roles, call, identity, project)
    return Reply(json=project_json(shown))


async def update_project(call: Call) -> Reply:
    """Metadata only (as Harbor: the name never changes, the quota has its own endpoint)."""
    identity, project = await project_in_path(call, "project", "update")
    body = await call.json_body()
    _check_allowlist(body, project.id)
    metadata = metadata_of(body)
    for key in PROXY_METADATA:
        metadata.pop(key, None)
    retention = metadata.pop("retention_id", None)
    if retention is not None and retention != project.metadata.get("retention_id", ""):
        raise BadRequest(
            "the retention_id in the request's payload when updating a project should be "
            "omitted, alternatively passing the one that has already been associated to this "
            "project"
        )
    if metadata:
        await call.run(
            partial(
                access_of(call).update_project, identity, project.name, metadata,
                client_ip=call.client_ip,
            )
        )  # fmt: skip
    return Reply()


async def delete_project(call: Call) -> Reply:
    identity, project = await project_in_path(call, "project", "delete")
    await call.run(
        partial(access_of(call).delete_project, identity, project.name, client_ip=call.client_ip)
    )
    return Reply()


async def get_project_deletable(call: Call) -> Reply:
    _, project = await project_in_path(call, "project", "delete")
    if project.repo_count:
        message = "the project contains repositories, can not be deleted"
        return Reply(json={"deletable": False, "message": message})
    return Reply(json={"deletable": True})


_COUNTS = {
    Role.PROJECT_ADMIN: "project_admin_count",
    Role.MAINTAINER: "maintainer_count",
    Role.DEVELOPER: "developer_count",
    Role.GUEST: "guest_count",
    Role.LIMITED_GUEST: "limited_guest_count",
}


def _member_counts(call: Call, project_id: int) -> dict[str, int]:
    counts = dict.fromkeys(_COUNTS.values(), 0)
    members = access_of(call).members
    number = 1
    while True:
        page = members.list(project_id, page=number, page_size=100)
        for member in page.items:
            try:
                counts[_COUNTS[Role(member.role_id)]] += 1
            except ValueError:
                continue  # a role id dockyard does not know counts nowhere
        if number * 100 >= page.total:
            return counts
        number += 1


async def get_project_summary(call: Call) -> Reply:
    """Repositories; the quota when the caller may read it; members by role when it may list
    them."""
    _, project = await project_in_path(call, "project", "read")
    summary: dict[str, Any] = {"repo_count": project.repo_count}
    if await call.allowed(project.name, "quota", "read"):
        quota = await call.run(access_of(call).quotas.get, project.name)
        summary["quota"] = {"hard": {"storage": quota.hard}, "used": {"storage": quota.used}}
    if await call.allowed(project.name, "member", "list"):
        summary.update(await call.run(_member_counts, call, project.id))
    return Reply(json=summary)
