"""The records of Harbor's ``/api/v2.0`` the client reads, named field for field as Harbor's
swagger names them (``dataclasses.asdict`` gives Harbor's JSON shape back)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "Access",
    "AuditLog",
    "Member",
    "Project",
    "Quota",
    "Robot",
    "RobotPermission",
    "RobotSecret",
    "User",
    "as_json",
]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def as_json(record: Any) -> dict[str, Any]:
    """A record as Harbor's JSON object (its field names; lists for tuples)."""
    out: dict[str, Any] = _plain(asdict(record))
    return out


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    return "" if value is None else str(value)


def _int(obj: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return default
    try:
        return int(value)
    except ValueError:
        return default


def _bool(obj: Mapping[str, Any], key: str) -> bool:
    value = obj.get(key)
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def _dict(obj: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return dict(value) if isinstance(value, Mapping) else {}


def _list(obj: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = obj.get(key)
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


@dataclass(frozen=True, slots=True)
class Project:
    project_id: int
    name: str
    owner_name: str = ""
    repo_count: int = 0
    creation_time: str = ""
    update_time: str = ""
    #: Harbor's project metadata: string values (``public``: ``"true"``/``"false"`` …)
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def public(self) -> bool:
        return self.metadata.get("public", "false").lower() == "true"

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Project:
        return cls(
            project_id=_int(obj, "project_id"),
            name=_str(obj, "name"),
            owner_name=_str(obj, "owner_name"),
            repo_count=_int(obj, "repo_count"),
            creation_time=_str(obj, "creation_time"),
            update_time=_str(obj, "update_time"),
            metadata={str(k): str(v) for k, v in _dict(obj, "metadata").items() if v is not None},
        )


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    project_id: int
    entity_name: str
    #: ``u`` for a user, ``g`` for a group
    entity_type: str
    entity_id: int
    role_id: int
    role_name: str

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Member:
        return cls(
            id=_int(obj, "id"),
            project_id=_int(obj, "project_id"),
            entity_name=_str(obj, "entity_name"),
            entity_type=_str(obj, "entity_type"),
            entity_id=_int(obj, "entity_id"),
            role_id=_int(obj, "role_id"),
            role_name=_str(obj, "role_name"),
        )


@dataclass(frozen=True, slots=True)
class User:
    user_id: int
    username: str
    email: str = ""
    realname: str = ""
    comment: str = ""
    sysadmin_flag: bool = False
    creation_time: str = ""
    update_time: str = ""

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> User:
        return cls(
            user_id=_int(obj, "user_id"),
            username=_str(obj, "username"),
            email=_str(obj, "email"),
            realname=_str(obj, "realname"),
            comment=_str(obj, "comment"),
            sysadmin_flag=_bool(obj, "sysadmin_flag"),
            creation_time=_str(obj, "creation_time"),
            update_time=_str(obj, "update_time"),
        )


@dataclass(frozen=True, slots=True)
class Access:
    resource: str
    action: str
    effect: str = "allow"

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Access:
        return cls(_str(obj, "resource"), _str(obj, "action"), _str(obj, "effect") or "allow")


@dataclass(frozen=True, slots=True)
class RobotPermission:
    #: ``project`` or ``system``
    kind: str
    #: the project's name, or ``/`` for the system
    namespace: str
    access: tuple[Access, ...]

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> RobotPermission:
        return cls(
            kind=_str(obj, "kind"),
            namespace=_str(obj, "namespace"),
            access=tuple(Access.from_json(a) for a in _list(obj, "access")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "access": [
                {"resource": a.resource, "action": a.action, "effect": a.effect}
                for a in self.access
            ],
        }


@dataclass(frozen=True, slots=True)
class Robot:
    id: int
    #: the login name: ``robot$NAME`` (system) or ``robot$PROJECT+NAME`` (project)
    name: str
    level: str
    description: str = ""
    #: days; -1 never expires
    duration: int = -1
    disable: bool = False
    editable: bool = True
    #: epoch seconds; -1 never
    expires_at: int = -1
    permissions: tuple[RobotPermission, ...] = ()
    creation_time: str = ""
    update_time: str = ""

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Robot:
        return cls(
            id=_int(obj, "id"),
            name=_str(obj, "name"),
            level=_str(obj, "level"),
            description=_str(obj, "description"),
            duration=_int(obj, "duration", -1),
            disable=_bool(obj, "disable"),
            editable=_bool(obj, "editable") if "editable" in obj else True,
            expires_at=_int(obj, "expires_at", -1),
            permissions=tuple(RobotPermission.from_json(p) for p in _list(obj, "permissions")),
            creation_time=_str(obj, "creation_time"),
            update_time=_str(obj, "update_time"),
        )


@dataclass(frozen=True, slots=True)
class RobotSecret:
    """A robot just created (Harbor's ``RobotCreated``): the only time its secret is shown."""

    id: int
    name: str
    secret: str
    creation_time: str = ""
    expires_at: int = -1

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> RobotSecret:
        return cls(
            id=_int(obj, "id"),
            name=_str(obj, "name"),
            secret=_str(obj, "secret"),
            creation_time=_str(obj, "creation_time"),
            expires_at=_int(obj, "expires_at", -1),
        )


@dataclass(frozen=True, slots=True)
class Quota:
    id: int
    #: what the quota is for: ``{"id": 3, "name": "team", "owner_name": "admin"}`` for a project
    ref: dict[str, Any]
    #: hard limits by resource (``storage`` in bytes; -1 unlimited)
    hard: dict[str, int]
    used: dict[str, int]
    creation_time: str = ""
    update_time: str = ""

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Quota:
        return cls(
            id=_int(obj, "id"),
            ref=_dict(obj, "ref"),
            hard={str(k): _int({"v": v}, "v") for k, v in _dict(obj, "hard").items()},
            used={str(k): _int({"v": v}, "v") for k, v in _dict(obj, "used").items()},
            creation_time=_str(obj, "creation_time"),
            update_time=_str(obj, "update_time"),
        )


@dataclass(frozen=True, slots=True)
class AuditLog:
    id: int
    username: str
    resource: str
    resource_type: str
    operation: str
    op_time: str

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> AuditLog:
        return cls(
            id=_int(obj, "id"),
            username=_str(obj, "username"),
            resource=_str(obj, "resource"),
            resource_type=_str(obj, "resource_type"),
            operation=_str(obj, "operation"),
            op_time=_str(obj, "op_time"),
        )
