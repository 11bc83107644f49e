"""``/robots[/{robot_id}]``: robot accounts, as Harbor 2.x.

A system robot is managed by whoever holds the system's ``robot`` accesses (system
administrators, system robots given them); a project robot by whoever holds the ``robot``
accesses in its project (its project admins). The secret is answered once, when the robot is
made (``RobotCreated``) or its secret refreshed without a chosen one (``PATCH``: RobotSec). A
robot that makes a robot may only hand on accesses it holds itself.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

from dockyard.errors import Denied
from dockyard.registry.access import Access, Robot, RobotPermission
from dockyard.registry.harbor._access import (
    access_of,
    body_int,
    body_str,
    require_project,
)
from dockyard.registry.harbor._access_json import robot_json
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest
from dockyard.registry.harbor._models import harbor_time
from dockyard.registry.harbor._query import Exact, Fuzzy, parse_query, parse_sort
from dockyard.registry.identity import Identity

__all__ = [
    "create_robot",
    "delete_robot",
    "get_robot",
    "list_robots",
    "refresh_secret",
    "update_robot",
]

Level = Literal["system", "project"]
#: Bounds on what one request may list (the store bounds what a robot may keep).
_MAX_LIST = 256


def _level(value: object) -> Level:
    if value == "system":
        return "system"
    if value == "project":
        return "project"
    raise BadRequest(f"bad request error level input: {str(value)[:32]!r}",
                     hint='level is "system" or "project"')  # fmt: skip


def _permissions(body: dict[str, Any]) -> tuple[RobotPermission, ...]:
    raw = body.get("permissions")
    if not isinstance(raw, list) or not raw:
        raise BadRequest("bad request empty permission", hint="give at least one permission")
    if len(raw) > _MAX_LIST:
        raise BadRequest(f"at most {_MAX_LIST} permissions")
    out: list[RobotPermission] = []
    for perm in raw:
        if not isinstance(perm, dict):
            raise BadRequest("bad request empty permission")
        accesses = perm.get("access")
        if not isinstance(accesses, list) or not accesses:
            raise BadRequest("bad request empty access")
        if len(accesses) > _MAX_LIST:
            raise BadRequest(f"at most {_MAX_LIST} accesses in one permission")
        parsed: list[Access] = []
        for acc in accesses:
            if not isinstance(acc, dict):
                raise BadRequest("bad request empty access")
            parsed.append(
                Access(body_str(acc, "resource"), body_str(acc, "action"),
                       body_str(acc, "effect") or "allow")
            )  # fmt: skip
        kind = body_str(perm, "kind")
        if kind not in ("system", "project"):
            raise BadRequest(f"bad request permission level: {kind[:32]!r}")
        out.append(RobotPermission(kind, body_str(perm, "namespace"), tuple(parsed)))  # type: ignore[arg-type]
    return tuple(out)


def _duration(body: dict[str, Any], default: int | None) -> int:
    duration = body_int(body, "duration")
    if duration is None:
        duration = default
    if duration is None or not (duration == -1 or 0 < duration < 2**31 - 1):
        raise BadRequest(
            f"bad request error duration input: {duration}, duration must be either -1(Never) "
            "or a positive integer"
        )
    return duration


async def _require(call: Call, level: Level, project: str | int | None, action: str) -> Identity:
    """Harbor's ``requireAccess``: the system's ``robot`` resource, or the project's."""
    identity = await call.authenticated()
    if level == "system":
        return await call.require(None, "robot", action)
    if project is None or project == "":
        raise BadRequest("a project robot's permission must name its project")
    identity, _ = await require_project(call, project, "robot", action)
    return identity


def _within(creating: tuple[RobotPermission, ...], creator: Robot) -> bool:
    """Harbor's ``isValidPermissionScope``: each permission is one the creator holds (for
    that namespace, or for every project) with no access it lacks."""
    held = {(p.kind, p.namespace): {(a.resource, a.action) for a in p.access}
            for p in creator.permissions}  # fmt: skip
    for perm in creating:
        mine = held.get((perm.kind, perm.namespace))
        if mine is None:
            mine = held.get((perm.kind, "*"))
        if mine is None or any((a.resource, a.action) not in mine for a in perm.access):
            return False
    return True


async def list_robots(call: Call) -> Reply:
    access = access_of(call)
    page = call.page()
    parse_sort(call.query("sort"), ("id",))  # listed by id, always
    level: Level = "system"
    project_id: int | None = None
    name: str | None = None
    terms = parse_query(call.query("q"))
    for key, term in terms.items():
        if key == "Level" and isinstance(term, Exact):
            level = _level(term.value)
        elif key == "ProjectID" and isinstance(term, Exact):
            pass
        elif key == "name" and isinstance(term, Fuzzy):
            name = term.value
        else:
            raise BadRequest(
                f"cannot filter robots by {key!r} that way",
                hint="use q=Level=system, q=Level=project,ProjectID=1 or name=~…",
            )
    if level == "project":
        given = terms.get("ProjectID")
        if given is None:
            raise BadRequest("must with project ID when to query project robots")
        value = given.value if isinstance(given, Exact) else ""
        if not (value.isascii() and value.isdigit() and 0 < len(value) <= 18 and int(value)):
            raise BadRequest("ProjectID must be a positive integer")
        project_id = int(value)
    await _require(call, level, project_id, "list")
    found = await call.run(
        partial(
            access.robots.list, level=level, project_id=project_id, name=name,
            page=page.number, page_size=page.size,
        )
    )  # fmt: skip
    return call.paged([robot_json(r) for r in found.items], found.total, page)


async def create_robot(call: Call) -> Reply:
    access = access_of(call)
    body = await call.json_body()
    name = body_str(body, "name")
    level = _level(body.get("level"))
    duration = _duration(body, None)
    permissions = _permissions(body)
    disable = body.get("disable", False)
    if not isinstance(disable, bool):
        raise BadRequest("disable must be true or false")
    identity = await _require(call, level, permissions[0].namespace, "create")
    if identity.kind == "robot":
        creator = await call.run(access.robots.by_login_name, identity.name)
        if creator is None or not _within(permissions, creator):
            raise Denied(
                "permission scope is invalid. It must be equal to or more restrictive than the "
                f"creator robot's permissions: {identity.name}"
            )
    secret = body_str(body, "secret") or None
    robot, value = await call.run(
        partial(
            access.create_robot, identity, name, level=level, permissions=permissions,
            duration=duration, description=body_str(body, "description"), disabled=disable,
            secret=secret, client_ip=call.client_ip,
        )
    )  # fmt: skip
    created = {
        "id": robot.id,
        "name": robot.name,
        "secret": value,
        "creation_time": harbor_time(robot.created_at),
        "expires_at": robot.expires_at,
    }
    location = f"{call.request.path.rstrip('/')}/{robot.id}"
    return Reply(status=201, json=created, headers=[("Location", location)])


async def _robot(call: Call, action: str) -> tuple[Identity, Robot]:
    """The path's robot (404 first, as Harbor) and the caller allowed ``action`` on it."""
    access_of(call)
    await call.authenticated()
    robot = await call.run(access_of(call).robots.get, int(call.params["robot_id"]))
    identity = await _require(call, robot.level, robot.project_id, action)
    return identity, robot


async def get_robot(call: Call) -> Reply:
    _, robot = await _robot(call, "read")
    return Reply(json=robot_json(robot))


async def update_robot(call: Call) -> Reply:
    """Description, disabled, duration and permissions; never the name, level or project."""
    access = access_of(call)
    identity, robot = await _robot(call, "update")
    body = await call.json_body()
    duration = _duration(body, robot.duration)
    level = _level(body.get("level"))
    permissions = _permissions(body)
    if level != robot.level or body_str(body, "name") not in (robot.name, _short(robot)):
        raise BadRequest("cannot update the level or name of robot")
    if robot.level == "project":
        if level == "project" and len(permissions) > 1:
            raise BadRequest("bad request permission: a project robot has one permission")
        await _require(call, "project", permissions[0].namespace, "update")
    disable = body.get("disable", False)
    if not isinstance(disable, bool):
        raise BadRequest("disable must be true or false")
    await call.run(
        partial(
            access.update_robot, identity, robot.id, description=body_str(body, "description"),
            disabled=disable, duration=duration, permissions=permissions,
            client_ip=call.client_ip,
        )
    )  # fmt: skip
    return Reply()


def _short(robot: Robot) -> str:
    """The name a robot was created with (without ``robot$`` and its project)."""
    return robot.name.removeprefix("robot$").rpartition("+")[2]


async def refresh_secret(call: Call) -> Reply:
    """A new secret: a chosen one (not answered), or a made-up one answered once."""
    identity, robot = await _robot(call, "update")
    chosen = body_str(await call.json_body(), "secret") or None
    value = await call.run(
        partial(
            access_of(call).refresh_robot_secret, identity, robot.id, chosen,
            client_ip=call.client_ip,
        )
    )  # fmt: skip
    return Reply(json={} if chosen else {"secret": value})


async def delete_robot(call: Call) -> Reply:
    identity, robot = await _robot(call, "delete")
    await call.run(
        partial(access_of(call).delete_robot, identity, robot.id, client_ip=call.client_ip)
    )
    return Reply()
