"""The access model's records as Harbor's JSON: Project, ProjectMemberEntity, UserResp, Robot,
Quota, AuditLog (the shapes :data:`~dockyard.registry.harbor._models.DEFINITIONS` declares)."""

from __future__ import annotations

from typing import Any

from dockyard.registry.access import AuditEntry, Member, Project, Quota, Robot, User
from dockyard.registry.harbor._models import harbor_time

__all__ = [
    "audit_json",
    "highest_role",
    "member_json",
    "project_json",
    "quota_json",
    "robot_json",
    "user_json",
]

#: Harbor's ``highestRole``: projectAdmin > maintainer > developer > guest > limitedGuest.
_ROLE_POWER = {1: 50, 4: 40, 2: 30, 3: 20, 5: 10}


def highest_role(roles: tuple[int, ...]) -> int:
    best = 0
    for role in roles:
        if _ROLE_POWER.get(role, 0) > _ROLE_POWER.get(best, 0):
            best = role
    return best


def project_json(project: Project, *, detail: bool = True) -> dict[str, Any]:
    """Harbor's Project; ``detail`` adds what ``with_detail`` does (owner, role, counts)."""
    out: dict[str, Any] = {
        "project_id": project.id,
        "name": project.name,
        "owner_id": project.owner_id or 0,
        "creation_time": harbor_time(project.created_at),
        "update_time": harbor_time(project.updated_at),
        "deleted": False,
        "repo_count": project.repo_count,
        "metadata": dict(project.metadata),
    }
    if project.registry_id:
        out["registry_id"] = project.registry_id
    if detail:
        out["owner_name"] = project.owner_name
        out["togglable"] = True
        out["current_user_role_id"] = highest_role(project.current_user_role_ids)
        out["current_user_role_ids"] = list(project.current_user_role_ids)
        out["cve_allowlist"] = {
            "id": 0,
            "project_id": project.id,
            "items": [],
            "creation_time": harbor_time(project.created_at),
            "update_time": harbor_time(project.updated_at),
        }
    return out


def member_json(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "project_id": member.project_id,
        "entity_name": member.entity_name,
        "role_name": member.role_name,
        "role_id": member.role_id,
        "entity_id": member.entity_id,
        "entity_type": member.entity_type,
    }


def user_json(user: User) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "username": user.username,
        "email": user.email,
        "realname": user.realname,
        "comment": user.comment,
        "sysadmin_flag": user.sysadmin,
        "admin_role_in_auth": user.admin_role_in_auth,
        "creation_time": harbor_time(user.created_at),
        "update_time": harbor_time(user.updated_at),
    }


def robot_json(robot: Robot) -> dict[str, Any]:
    """Harbor's Robot (never its secret)."""
    return {
        "id": robot.id,
        "name": robot.name,
        "description": robot.description,
        "level": robot.level,
        "duration": robot.duration,
        "editable": robot.editable,
        "disable": robot.disabled,
        "expires_at": robot.expires_at,
        "permissions": [
            {
                "kind": p.kind,
                "namespace": p.namespace,
                "access": [
                    {"resource": a.resource, "action": a.action, "effect": a.effect}
                    for a in p.access
                ],
            }
            for p in robot.permissions
        ],
        "creator_type": robot.creator_type,
        "creator_ref": robot.creator_ref,
        "creation_time": harbor_time(robot.created_at),
        "update_time": harbor_time(robot.updated_at),
    }


def quota_json(quota: Quota, owner_name: str = "") -> dict[str, Any]:
    """Harbor's Quota: its id is the project's (one storage quota per project)."""
    return {
        "id": quota.project_id,
        "ref": {"id": quota.project_id, "name": quota.project, "owner_name": owner_name},
        "hard": {"storage": quota.hard},
        "used": {"storage": quota.used},
        "creation_time": harbor_time(quota.created_at),
        "update_time": harbor_time(quota.updated_at),
    }


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "username": entry.username,
        "resource": entry.resource,
        "resource_type": entry.resource_type,
        "operation": entry.operation,
        "op_time": harbor_time(entry.op_time),
    }
