"""A typed client for Harbor's team endpoints (projects, members, quotas, users, robots, audit
logs), written against Harbor's swagger: the same calls work with dockyard's registry in
``auth: projects`` mode and with a Harbor."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from dockyard.client.harbor._http import ApiConnection, segment
from dockyard.client.harbor._models import (
    AuditLog,
    Member,
    Project,
    Quota,
    Robot,
    RobotPermission,
    RobotSecret,
    User,
)
from dockyard.client.harbor._values import query_time
from dockyard.errors import InvalidArgument, NotFound, Unavailable

__all__ = ["HarborClient"]

#: Robot login names start with this.
ROBOT_PREFIX = "robot$"
_BY_NAME = {"X-Is-Resource-Name": "true"}


def _q(**terms: str | None) -> dict[str, str]:
    """Harbor's ``q=k=v,k2=~v`` from the terms given."""
    parts = [f"{k}={v}" for k, v in terms.items() if v is not None]
    return {"q": ",".join(parts)} if parts else {}


class HarborClient:
    """Calls on one registry's ``/api/v2.0`` (see :func:`dockyard.client.harbor.connect`)."""

    def __init__(self, api: ApiConnection) -> None:
        self.api = api

    @property
    def registry(self) -> str:
        return self.api.host

    # --- projects -------------------------------------------------------------------------

    def list_projects(
        self, *, name: str | None = None, public: bool | None = None, limit: int | None = None
    ) -> list[Project]:
        query: dict[str, str | int] = {}
        if name:
            query["name"] = name
        if public is not None:
            query["public"] = "true" if public else "false"
        items = self.api.pages("/projects", what="list projects", query=query, limit=limit)
        return [Project.from_json(p) for p in items]

    def get_project(self, name: str) -> Project:
        resp = self.api.request(
            "GET", f"/projects/{segment(name)}", what=f"inspect project {name}", headers=_BY_NAME
        )
        return Project.from_json(_object(resp.json(), f"project {name}"))

    def create_project(
        self,
        name: str,
        *,
        public: bool = False,
        storage_limit: int | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Project:
        meta = {**(metadata or {}), "public": "true" if public else "false"}
        body: dict[str, Any] = {"project_name": name, "metadata": meta}
        if storage_limit is not None:
            body["storage_limit"] = storage_limit
        self.api.request("POST", "/projects", what=f"create project {name}", body=body, ok=(201,))
        return self.get_project(name)

    def delete_project(self, name: str) -> None:
        self.api.request(
            "DELETE", f"/projects/{segment(name)}", what=f"remove project {name}", headers=_BY_NAME
        )

    # --- members --------------------------------------------------------------------------

    def list_members(self, project: str, *, name: str | None = None) -> list[Member]:
        query: dict[str, str | int] = {"entityname": name} if name else {}
        items = self.api.pages(
            f"/projects/{segment(project)}/members",
            what=f"list the members of project {project}",
            query=query,
        )
        return [Member.from_json(m) for m in items]

    def find_member(
        self, project: str, *, user: str | None = None, group: str | None = None
    ) -> Member:
        """The member that is user ``user``, or group ``group`` (its name, or an LDAP DN)."""
        entity_type, wanted = ("u", user) if user else ("g", group)
        if not wanted:
            raise InvalidArgument("name a user or a group")
        names = {wanted.lower(), _dn_name(wanted).lower()}
        for member in self.list_members(project, name=_dn_name(wanted)):
            if member.entity_type == entity_type and member.entity_name.lower() in names:
                return member
        kind = "user" if entity_type == "u" else "group"
        raise NotFound(
            f"{kind} {wanted} is not a member of project {project}",
            hint=f"`dockyard project member ls {project}` lists the members",
        )

    def add_member(
        self, project: str, role_id: int, *, user: str | None = None, group: str | None = None
    ) -> Member:
        body: dict[str, Any] = {"role_id": role_id}
        if user:
            body["member_user"] = {"username": user}
        elif group:
            if "=" in group:
                body["member_group"] = {
                    "group_name": _dn_name(group),
                    "group_type": 1,
                    "ldap_group_dn": group,
                }
            else:
                body["member_group"] = {"group_name": group}
        else:
            raise InvalidArgument("name a user or a group to add")
        who = user or group
        self.api.request(
            "POST",
            f"/projects/{segment(project)}/members",
            what=f"add {who} to project {project}",
            body=body,
            headers=_BY_NAME,
            ok=(201,),
        )
        return self.find_member(project, user=user, group=group)

    def update_member(self, project: str, member: Member, role_id: int) -> Member:
        self.api.request(
            "PUT",
            f"/projects/{segment(project)}/members/{member.id}",
            what=f"change the role of {member.entity_name} in project {project}",
            body={"role_id": role_id},
            headers=_BY_NAME,
        )
        return replace(member, role_id=role_id, role_name="")

    def remove_member(self, project: str, member: Member) -> None:
        self.api.request(
            "DELETE",
            f"/projects/{segment(project)}/members/{member.id}",
            what=f"remove {member.entity_name} from project {project}",
            headers=_BY_NAME,
        )

    # --- quotas ---------------------------------------------------------------------------

    def project_quota(self, project: str) -> Quota:
        found = self.get_project(project)
        items = self.api.pages(
            "/quotas",
            what=f"read the quota of project {project}",
            query={"reference": "project", "reference_id": str(found.project_id)},
        )
        for item in items:
            return Quota.from_json(item)
        raise NotFound(f"project {project} has no quota")

    def set_project_quota(self, project: str, storage: int) -> Quota:
        """Set the storage limit in bytes (-1: unlimited)."""
        quota = self.project_quota(project)
        self.api.request(
            "PUT",
            f"/quotas/{quota.id}",
            what=f"set the quota of project {project}",
            body={"hard": {"storage": storage}},
        )
        return replace(quota, hard={**quota.hard, "storage": storage})

    # --- users ----------------------------------------------------------------------------

    def list_users(self, *, name: str | None = None, limit: int | None = None) -> list[User]:
        query = _q(username=f"~{name}" if name else None)
        items = self.api.pages("/users", what="list users", query=query, limit=limit)
        return [User.from_json(u) for u in items]

    def user_id(self, username: str) -> int:
        """The id of the user called ``username`` (``/users/search``, open to every user)."""
        items = self.api.pages(
            "/users/search", what=f"look up user {username}", query={"username": username}
        )
        for item in items:
            if str(item.get("username", "")) == username:
                return int(item.get("user_id", 0))
        raise NotFound(f"no user {username}", hint="`dockyard user ls` lists the users")

    def get_user(self, username: str) -> User:
        uid = self.user_id(username)
        return User.from_json(
            _object(self.api.get(f"/users/{uid}", what=f"inspect user {username}"), "user")
        )

    def create_user(
        self,
        username: str,
        password: str,
        *,
        email: str = "",
        realname: str = "",
        comment: str = "",
    ) -> User:
        body = {
            "username": username,
            "password": password,
            "email": email,
            "realname": realname or username,
            "comment": comment,
        }
        resp = self.api.request(
            "POST", "/users", what=f"create user {username}", body=body, ok=(201,)
        )
        uid = self.api.location_id(resp)
        if uid is None:
            uid = self.user_id(username)
        return User(uid, username, email=email, realname=realname or username, comment=comment)

    def delete_user(self, username: str) -> None:
        uid = self.user_id(username)
        self.api.request("DELETE", f"/users/{uid}", what=f"remove user {username}")

    def set_password(self, username: str, new: str, *, old: str | None = None) -> None:
        uid = self.user_id(username)
        body = {"new_password": new}
        if old is not None:
            body["old_password"] = old
        self.api.request(
            "PUT", f"/users/{uid}/password", what=f"change the password of {username}", body=body
        )

    def set_sysadmin(self, username: str, admin: bool) -> None:
        uid = self.user_id(username)
        self.api.request(
            "PUT",
            f"/users/{uid}/sysadmin",
            what=f"{'make' if admin else 'unmake'} {username} a system admin",
            body={"sysadmin_flag": admin},
        )

    def set_cli_secret(self, username: str, secret: str) -> None:
        uid = self.user_id(username)
        self.api.request(
            "PUT",
            f"/users/{uid}/cli_secret",
            what=f"set the CLI secret of {username}",
            body={"secret": secret},
        )

    # --- robots ---------------------------------------------------------------------------

    def list_robots(self, *, project: str | None = None, limit: int | None = None) -> list[Robot]:
        query: dict[str, str] = {}
        if project is not None:
            pid = self.get_project(project).project_id
            query = _q(Level="project", ProjectID=str(pid))
        items = self.api.pages("/robots", what="list robot accounts", query=query, limit=limit)
        return [Robot.from_json(r) for r in items]

    def get_robot(self, robot_id: int) -> Robot:
        data = self.api.get(f"/robots/{robot_id}", what=f"inspect robot {robot_id}")
        return Robot.from_json(_object(data, "robot"))

    def find_robot(self, name: str, *, project: str | None = None) -> Robot:
        """A robot by id, by login name (``robot$team+ci``) or by its short name (``ci``, with
        ``project`` for a project robot)."""
        if name.isdigit():
            return self.get_robot(int(name))
        if project is None and name.startswith(ROBOT_PREFIX) and "+" in name:
            project = name[len(ROBOT_PREFIX) :].split("+", 1)[0]  # robot$PROJECT+NAME
        wanted = {name, _robot_login(name, project)}
        for robot in self.list_robots(project=project):
            if robot.name in wanted:
                return robot
        where = f" in project {project}" if project else ""
        raise NotFound(
            f"no robot account {name}{where}",
            hint="`dockyard robot ls` lists them (project robots: with --project)",
        )

    def create_robot(
        self,
        name: str,
        permissions: Sequence[RobotPermission],
        *,
        level: str,
        duration: int,
        description: str = "",
    ) -> RobotSecret:
        body = {
            "name": name,
            "description": description,
            "level": level,
            "duration": duration,
            "disable": False,
            "permissions": [p.to_json() for p in permissions],
        }
        resp = self.api.request(
            "POST", "/robots", what=f"create robot {name}", body=body, ok=(201,)
        )
        return RobotSecret.from_json(_object(resp.json(), "robot"))

    def delete_robot(self, robot: Robot) -> None:
        self.api.request("DELETE", f"/robots/{robot.id}", what=f"remove robot {robot.name}")

    def refresh_robot_secret(self, robot: Robot, secret: str = "") -> str:
        """A new secret for ``robot`` (made by the server unless given); the old one stops
        working."""
        data = self.api.request(
            "PATCH",
            f"/robots/{robot.id}",
            what=f"refresh the secret of robot {robot.name}",
            body={"secret": secret},
        ).json()
        new = _object(data, "robot secret").get("secret")
        if not isinstance(new, str) or not new:
            raise Unavailable(f"refresh the secret of robot {robot.name}: no secret in the answer")
        return new

    def set_robot_disabled(self, robot: Robot, disabled: bool) -> Robot:
        body = {
            "id": robot.id,
            "name": robot.name,
            "description": robot.description,
            "level": robot.level,
            "duration": robot.duration,
            "disable": disabled,
            "editable": robot.editable,
            "expires_at": robot.expires_at,
            "permissions": [p.to_json() for p in robot.permissions],
        }
        self.api.request(
            "PUT",
            f"/robots/{robot.id}",
            what=f"{'disable' if disabled else 'enable'} robot {robot.name}",
            body=body,
        )
        return replace(robot, disable=disabled)

    # --- audit log ------------------------------------------------------------------------

    def audit_logs(
        self,
        *,
        operation: str | None = None,
        username: str | None = None,
        resource: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> builtins.list[AuditLog]:
        """Newest first."""
        query: dict[str, str | int] = {
            **_q(
                operation=operation,
                username=username,
                resource=resource,
                op_time=f"[{query_time(since)}~]" if since is not None else None,
            ),
            "sort": "-op_time",
        }
        items = self.api.pages("/audit-logs", what="list the audit log", query=query, limit=limit)
        return [AuditLog.from_json(a) for a in items]


def _object(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise Unavailable(f"the registry's answer for {what} is not a JSON object")
    return data


def _dn_name(group: str) -> str:
    """``cn=devs,ou=groups,dc=example`` → ``devs``; a plain name stays itself."""
    first = group.split(",", 1)[0]
    key, sep, value = first.partition("=")
    return value.strip() if sep and key.strip() else group


def _robot_login(name: str, project: str | None) -> str:
    if name.startswith(ROBOT_PREFIX):
        return name
    return f"{ROBOT_PREFIX}{project}+{name}" if project else f"{ROBOT_PREFIX}{name}"
