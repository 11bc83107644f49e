"""The project page's robots and quota: what the API answers about them, and the forms that
change them (create, disable or enable, delete a robot; set the storage limit). Every call
goes through ``/api/v2.0`` as the signed-in user (:data:`Ask`), so the API decides who may."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from dockyard.errors import InvalidArgument, NotFound
from dockyard.registry.console._calls import ApiAnswer, segment

__all__ = [
    "ACCESS_SETS",
    "Ask",
    "Can",
    "CreatedRobot",
    "ProjectExtras",
    "Quota",
    "create_robot",
    "delete_robot",
    "limit_bytes",
    "project_extras",
    "set_quota",
    "switch_robot",
]

#: ``ask(method, path, query, body)``: an API call as the signed-in user.
Ask = Callable[..., Awaitable[ApiAnswer]]
#: ``can(project or None, resource, action)``: the user's permission, to show or hide a form.
Can = Callable[[str | None, str, str], Awaitable[bool]]

#: The choices of the robot form: a name, what it means, and the accesses it grants.
ACCESS_SETS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("pull", "Pull images",
     (("repository", "pull"), ("repository", "list"), ("artifact", "read"),
      ("artifact", "list"), ("tag", "list"))),
    ("push", "Push images", (("repository", "push"), ("artifact", "create"), ("tag", "create"))),
    ("delete", "Delete images and tags",
     (("repository", "delete"), ("artifact", "delete"), ("tag", "delete"))),
    ("scan", "Start and read scans", (("scan", "create"), ("scan", "read"))),
)  # fmt: skip
_UNITS = {"MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
_MAX_DAYS = 36500


@dataclass(frozen=True, slots=True)
class Quota:
    """Bytes; ``hard`` -1 is no limit."""

    used: int
    hard: int


@dataclass(frozen=True, slots=True)
class ProjectExtras:
    """``robots`` is None when the user may not list them; ``quota`` None when they may not
    read it."""

    project_id: int
    robots: list[dict[str, Any]] | None
    manage_robots: bool
    quota: Quota | None
    edit_quota: bool


@dataclass(frozen=True, slots=True)
class CreatedRobot:
    name: str
    secret: str


async def _project_id(ask: Ask, project: str) -> int:
    answer = await ask("GET", f"/projects/{segment(project)}")
    return int(answer.json["project_id"])


async def project_extras(ask: Ask, can: Can, project: str) -> ProjectExtras:
    """The robots (when the user may list them) and the quota (when they may read it)."""
    project_id = await _project_id(ask, project)
    robots: list[dict[str, Any]] | None = None
    if await can(project, "robot", "list"):
        query = {"q": f"Level=project,ProjectID={project_id}", "page_size": "100"}
        robots = list((await ask("GET", "/robots", query)).json or [])
    summary = (await ask("GET", f"/projects/{segment(project)}/summary")).json or {}
    quota = None
    if isinstance(summary.get("quota"), dict):
        raw = summary["quota"]
        quota = Quota(int(raw["used"]["storage"]), int(raw["hard"]["storage"]))
    return ProjectExtras(
        project_id=project_id,
        robots=robots,
        manage_robots=await can(project, "robot", "create"),
        quota=quota,
        edit_quota=await can(None, "quota", "update"),
    )


def _days(value: str) -> int:
    text = value.strip() or "30"
    if text.lstrip("-").isdigit() and (text == "-1" or 0 < int(text) <= _MAX_DAYS):
        return int(text)
    raise InvalidArgument(
        f"the robot's lifetime must be a number of days (1 to {_MAX_DAYS}) or -1 for never, "
        f"not {text[:20]!r}"
    )


async def create_robot(ask: Ask, project: str, form: dict[str, str]) -> CreatedRobot:
    """A project robot with the form's name, description, lifetime and access sets."""
    accesses = [
        {"resource": resource, "action": action, "effect": "allow"}
        for key, _, pairs in ACCESS_SETS
        if form.get(f"access_{key}")
        for resource, action in pairs
    ]
    if not accesses:
        raise InvalidArgument("choose at least one thing the robot may do (pull, push, …)")
    body = {
        "name": form.get("robot_name", "").strip(),
        "description": form.get("description", "").strip(),
        "level": "project",
        "duration": _days(form.get("duration", "")),
        "permissions": [{"kind": "project", "namespace": project, "access": accesses}],
    }
    answer = await ask("POST", "/robots", None, body)
    return CreatedRobot(str(answer.json["name"]), str(answer.json["secret"]))


async def _robot_of(ask: Ask, project: str, robot_id: str) -> dict[str, Any]:
    """The robot, when it is one of this project's (404 otherwise, as for a stranger's)."""
    if not (robot_id.isascii() and robot_id.isdigit() and len(robot_id) <= 18):
        raise NotFound("no such robot")
    robot: dict[str, Any] = (await ask("GET", f"/robots/{robot_id}")).json
    spaces = {p.get("namespace") for p in robot.get("permissions") or ()}
    if robot.get("level") != "project" or spaces != {project}:
        raise NotFound(f"robot {robot_id} is not one of project {project}'s robots")
    return robot


async def switch_robot(ask: Ask, project: str, robot_id: str, *, disable: bool) -> None:
    """Disable or enable the robot (everything else as it was)."""
    robot = await _robot_of(ask, project, robot_id)
    body = {
        "name": robot["name"],
        "description": robot.get("description", ""),
        "level": robot["level"],
        "duration": robot["duration"],
        "disable": disable,
        "permissions": robot["permissions"],
    }
    await ask("PUT", f"/robots/{robot_id}", None, body)


async def delete_robot(ask: Ask, project: str, robot_id: str) -> None:
    await _robot_of(ask, project, robot_id)
    await ask("DELETE", f"/robots/{robot_id}")


def limit_bytes(amount: str, unit: str) -> int:
    """The form's limit in bytes: a number of MiB/GiB/TiB, or -1 / empty for no limit."""
    text = amount.strip()
    if text in ("", "-1"):
        return -1
    if unit not in _UNITS:
        raise InvalidArgument(f"the unit must be one of {', '.join(_UNITS)}")
    try:
        value = float(text)
    except ValueError:
        value = -2.0
    if not (0 <= value <= 1 << 20):
        raise InvalidArgument(
            f"the limit must be a number of {unit} (0 to 1048576) or -1 for no limit, "
            f"not {text[:20]!r}"
        )
    return int(value * _UNITS[unit])


async def set_quota(ask: Ask, project: str, form: dict[str, str]) -> None:
    """The project's storage limit, through ``PUT /quotas/{project id}`` (system admins)."""
    limit = limit_bytes(form.get("limit", ""), form.get("unit", "GiB"))
    project_id = await _project_id(ask, project)
    await ask("PUT", f"/quotas/{project_id}", None, {"hard": {"storage": limit}})
