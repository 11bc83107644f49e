"""``dockyard robot``: robot accounts (Harbor's ``/api/v2.0/robots``): create with permissions
and a lifetime, ls, rm, refresh the secret, disable and enable."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from dockyard.cli._main import cli
from dockyard.cli._teams import (
    Connector,
    ago,
    api_options,
    emit_list,
    emit_one,
    secret_warning,
    usage,
)
from dockyard.client.harbor import Robot, group_permissions, parse_permission
from dockyard.errors import InvalidArgument

_PROJECT = click.option(
    "--project", metavar="PROJECT", help="A project robot of PROJECT (default: system level)."
)


@cli.group("robot")
def robot_group() -> None:
    """Manage the robot accounts of a registry (Harbor's API)."""


def _expires(expires_at: int) -> str:
    if expires_at < 0:
        return "never"
    return datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@robot_group.command("create")
@click.argument("name")
@_PROJECT
@click.option(
    "--permission",
    "permissions",
    multiple=True,
    required=True,
    metavar="KIND:NAMESPACE:RESOURCE:ACTIONS",
    help="e.g. project:team:repository:pull,push or system:/:project:list (with --project, "
    "RESOURCE:ACTIONS is enough); repeatable.",
)
@click.option(
    "--duration",
    type=int,
    default=30,
    show_default=True,
    help="Lifetime in days; -1 never expires.",
)
@click.option("--description", default="", help="What the robot is for.")
@api_options
def create_cmd(
    name: str,
    project: str | None,
    permissions: tuple[str, ...],
    duration: int,
    description: str,
    harbor: Connector,
    fmt: str,
) -> None:
    """Create a robot account; prints its secret, once."""
    if duration != -1 and duration <= 0:
        raise usage(f"--duration {duration}: give a number of days, or -1 for never")
    try:
        specs = [parse_permission(p, project=project) for p in permissions]
    except InvalidArgument as exc:
        raise usage(str(exc)) from None
    level = "project" if project else "system"
    created = harbor().create_robot(
        name, group_permissions(specs), level=level, duration=duration, description=description
    )
    secret_warning()
    emit_one(
        fmt,
        created,
        f"Name: {created.name}\nSecret: {created.secret}\nExpires: {_expires(created.expires_at)}",
    )


def _permissions(robot: Robot) -> str:
    parts = []
    for p in robot.permissions:
        by_resource: dict[str, list[str]] = {}
        for a in p.access:
            by_resource.setdefault(a.resource, []).append(a.action)
        for resource, actions in by_resource.items():
            parts.append(f"{p.kind}:{p.namespace}:{resource}:{','.join(actions)}")
    return " ".join(parts)


def _robot_row(r: Robot) -> list[str]:
    return [
        r.name,
        str(r.id),
        r.level,
        "true" if r.disable else "false",
        _expires(r.expires_at),
        ago(r.creation_time),
        _permissions(r),
    ]


@robot_group.command("ls")
@_PROJECT
@api_options
def ls_cmd(project: str | None, harbor: Connector, fmt: str) -> None:
    """List robot accounts (all of them, or with --project a project's)."""
    robots = harbor().list_robots(project=project)
    emit_list(
        fmt,
        ["NAME", "ID", "LEVEL", "DISABLED", "EXPIRES", "CREATED", "PERMISSIONS"],
        robots,
        _robot_row,
    )


@robot_group.command("rm")
@click.argument("name")
@_PROJECT
@api_options
def rm_cmd(name: str, project: str | None, harbor: Connector, fmt: str) -> None:
    """Remove a robot account (NAME: robot$…, its short name, or its ID)."""
    client = harbor()
    robot = client.find_robot(name, project=project)
    client.delete_robot(robot)
    emit_one(fmt, robot, robot.name)


@robot_group.command("refresh")
@click.argument("name")
@_PROJECT
@api_options
def refresh_cmd(name: str, project: str | None, harbor: Connector, fmt: str) -> None:
    """Give a robot account a new secret (the old one stops working); prints it, once."""
    client = harbor()
    robot = client.find_robot(name, project=project)
    secret = client.refresh_robot_secret(robot)
    secret_warning()
    emit_one(fmt, {"id": robot.id, "name": robot.name, "secret": secret}, secret)


def _set_disabled(name: str, project: str | None, harbor: Connector, fmt: str, off: bool) -> None:
    client = harbor()
    robot = client.set_robot_disabled(client.find_robot(name, project=project), off)
    emit_one(fmt, robot, robot.name)


@robot_group.command("disable")
@click.argument("name")
@_PROJECT
@api_options
def disable_cmd(name: str, project: str | None, harbor: Connector, fmt: str) -> None:
    """Disable a robot account (its secret stops working until enabled)."""
    _set_disabled(name, project, harbor, fmt, True)


@robot_group.command("enable")
@click.argument("name")
@_PROJECT
@api_options
def enable_cmd(name: str, project: str | None, harbor: Connector, fmt: str) -> None:
    """Enable a disabled robot account again."""
    _set_disabled(name, project, harbor, fmt, False)
