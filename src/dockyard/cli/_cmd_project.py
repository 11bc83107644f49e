"""``dockyard project``: Harbor projects on a registry — create, ls, inspect, rm, members and
the storage quota (``/api/v2.0/projects``, ``/members``, ``/quotas``)."""

from __future__ import annotations

import click

from dockyard.cli._format import human_size
from dockyard.cli._main import cli
from dockyard.cli._teams import Connector, ago, api_options, emit_list, emit_one, usage
from dockyard.client.harbor import ROLES, Member, Project, parse_size, role_id, role_name
from dockyard.errors import InvalidArgument

_ROLE = click.Choice(list(ROLES), case_sensitive=False)


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except InvalidArgument as exc:
        raise usage(str(exc)) from None


def _limit(size: int | None) -> str:
    if size is None:
        return ""
    return "unlimited" if size < 0 else human_size(size)


@cli.group("project")
def project_group() -> None:
    """Manage the projects of a registry (Harbor's API): members, roles and quotas."""


@project_group.command("create")
@click.argument("name")
@click.option("--public", is_flag=True, help="Anyone may pull, without logging in.")
@click.option(
    "--storage-limit",
    metavar="SIZE",
    help="Storage quota (10G, 512MiB, bytes; -1 unlimited).",
)
@click.option(
    "--metadata",
    "metadata",
    multiple=True,
    metavar="KEY=VALUE",
    help="A project setting (Harbor's metadata, e.g. auto_scan=true); repeatable.",
)
@api_options
def create_cmd(
    name: str,
    public: bool,
    storage_limit: str | None,
    metadata: tuple[str, ...],
    harbor: Connector,
    fmt: str,
) -> None:
    """Create a project."""
    settings: dict[str, str] = {}
    for item in metadata:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise usage(f"--metadata {item!r} is not KEY=VALUE")
        settings[key] = value
    if "public" in settings:
        raise usage("--metadata public=…: use --public")
    limit = _size(storage_limit) if storage_limit is not None else None
    project = harbor().create_project(name, public=public, storage_limit=limit, metadata=settings)
    emit_one(fmt, project, project.name)


def _project_row(p: Project) -> list[str]:
    return [
        p.name,
        str(p.project_id),
        "true" if p.public else "false",
        p.owner_name,
        str(p.repo_count),
        ago(p.creation_time),
    ]


@project_group.command("ls")
@click.option("--public/--private", "public", default=None, help="Only public or private ones.")
@click.option("--name", help="Only projects whose name contains this.")
@api_options
def ls_cmd(public: bool | None, name: str | None, harbor: Connector, fmt: str) -> None:
    """List the projects you may see."""
    projects = harbor().list_projects(name=name, public=public)
    emit_list(
        fmt, ["NAME", "ID", "PUBLIC", "OWNER", "REPOSITORIES", "CREATED"], projects, _project_row
    )


@project_group.command("inspect")
@click.argument("name")
@api_options
def inspect_cmd(name: str, harbor: Connector, fmt: str) -> None:
    """Show a project and its settings."""
    p = harbor().get_project(name)
    fields = {
        "name": p.name,
        "id": str(p.project_id),
        "public": "true" if p.public else "false",
        "owner": p.owner_name,
        "repositories": str(p.repo_count),
        "created": p.creation_time,
        **{f"metadata.{k}": v for k, v in sorted(p.metadata.items()) if k != "public"},
    }
    emit_one(fmt, p, fields)


@project_group.command("rm")
@click.argument("name")
@api_options
def rm_cmd(name: str, harbor: Connector, fmt: str) -> None:
    """Remove a project (it must hold no repositories)."""
    harbor().delete_project(name)
    emit_one(fmt, {"name": name, "deleted": True}, name)


# --- members -----------------------------------------------------------------------------


@project_group.group("member")
def member_group() -> None:
    """Manage who may do what in a project: users and groups, each with a role."""


def _who(user: str | None, group: str | None) -> tuple[str | None, str | None]:
    if bool(user) == bool(group):
        raise usage("name a USER or a --group (one of them)")
    return user, group


def _member_row(m: Member) -> list[str]:
    kind = "user" if m.entity_type == "u" else "group" if m.entity_type == "g" else m.entity_type
    return [m.entity_name, str(m.id), kind, m.role_name or role_name(m.role_id)]


_MEMBER_HEADERS = ["NAME", "ID", "TYPE", "ROLE"]


@member_group.command("add")
@click.argument("project")
@click.argument("user", required=False)
@click.option("--group", metavar="DN|NAME", help="A group (an LDAP group's DN) instead of a user.")
@click.option("--role", type=_ROLE, required=True, help="The member's role in the project.")
@api_options
def member_add_cmd(
    project: str, user: str | None, group: str | None, role: str, harbor: Connector, fmt: str
) -> None:
    """Make USER (or --group) a member of PROJECT with a role."""
    user, group = _who(user, group)
    member = harbor().add_member(project, role_id(role), user=user, group=group)
    emit_one(fmt, member, f"{member.entity_name}: {member.role_name or role_name(member.role_id)}")


@member_group.command("ls")
@click.argument("project")
@click.option("--name", help="Only members whose name contains this.")
@api_options
def member_ls_cmd(project: str, name: str | None, harbor: Connector, fmt: str) -> None:
    """List the members of PROJECT and their roles."""
    members = harbor().list_members(project, name=name)
    emit_list(fmt, _MEMBER_HEADERS, members, _member_row)


@member_group.command("update")
@click.argument("project")
@click.argument("user", required=False)
@click.option("--group", metavar="DN|NAME", help="A group member instead of a user.")
@click.option("--role", type=_ROLE, required=True, help="The new role.")
@api_options
def member_update_cmd(
    project: str, user: str | None, group: str | None, role: str, harbor: Connector, fmt: str
) -> None:
    """Change the role of a member of PROJECT."""
    user, group = _who(user, group)
    client = harbor()
    member = client.find_member(project, user=user, group=group)
    client.update_member(project, member, role_id(role))
    updated = client.find_member(project, user=user, group=group)
    emit_one(
        fmt, updated, f"{updated.entity_name}: {updated.role_name or role_name(updated.role_id)}"
    )


@member_group.command("rm")
@click.argument("project")
@click.argument("user", required=False)
@click.option("--group", metavar="DN|NAME", help="A group member instead of a user.")
@api_options
def member_rm_cmd(
    project: str, user: str | None, group: str | None, harbor: Connector, fmt: str
) -> None:
    """Remove a member from PROJECT."""
    user, group = _who(user, group)
    client = harbor()
    member = client.find_member(project, user=user, group=group)
    client.remove_member(project, member)
    emit_one(fmt, member, member.entity_name)


# --- quota -------------------------------------------------------------------------------


@project_group.group("quota")
def quota_group() -> None:
    """Show or set a project's storage quota."""


@quota_group.command("set")
@click.argument("name")
@click.argument("size", metavar="SIZE")
@api_options
def quota_set_cmd(name: str, size: str, harbor: Connector, fmt: str) -> None:
    """Set the storage limit of project NAME (10G, 512MiB, bytes; -1 unlimited)."""
    limit = _size(size)
    quota = harbor().set_project_quota(name, limit)
    emit_one(fmt, quota, f"{name}: {_limit(quota.hard.get('storage'))}")


@quota_group.command("inspect")
@click.argument("name")
@api_options
def quota_inspect_cmd(name: str, harbor: Connector, fmt: str) -> None:
    """Show the storage limit and use of project NAME."""
    quota = harbor().project_quota(name)
    fields = {
        "project": name,
        "storage limit": _limit(quota.hard.get("storage")),
        "storage used": _limit(quota.used.get("storage", 0)),
    }
    emit_one(fmt, quota, fields)
