"""What the access model hands out: plain frozen records carrying every field Harbor's API shows.

Times are epoch seconds (floats); the API layer formats them as RFC 3339. Secrets are never in
a record: a new secret is returned once, beside the record, by the call that made it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from dockyard.errors import InvalidArgument

__all__ = [
    "MAX_PAGE_SIZE",
    "Access",
    "AuditEntry",
    "Member",
    "Page",
    "Project",
    "Quota",
    "Robot",
    "RobotPermission",
    "User",
    "check_paging",
]

#: Harbor's swagger: ``page_size`` has ``maximum: 100``.
MAX_PAGE_SIZE = 100

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing and how many items match in all (``X-Total-Count``)."""

    items: Sequence[T]
    total: int
    page: int
    page_size: int


def check_paging(page: int, page_size: int) -> tuple[int, int]:
    """(offset, limit) for a 1-based ``page``; InvalidArgument outside Harbor's bounds."""
    if page < 1:
        raise InvalidArgument(f"page {page} is not valid", hint="pages are numbered from 1")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidArgument(
            f"page_size {page_size} is out of range",
            hint=f"use a page_size from 1 to {MAX_PAGE_SIZE}",
        )
    return (page - 1) * page_size, page_size


@dataclass(frozen=True, slots=True)
class User:
    """Harbor's ``UserResp`` (``admin_role_in_auth``: made admin by the directory's group)."""

    id: int
    username: str
    email: str
    realname: str
    comment: str
    sysadmin: bool
    source: Literal["local", "ldap"]
    has_cli_secret: bool
    created_at: float
    updated_at: float
    admin_role_in_auth: bool = False


@dataclass(frozen=True, slots=True)
class Project:
    """Harbor's ``Project``: ``metadata`` holds Harbor's strings ("true"/"false", severities)."""

    id: int
    name: str
    owner_id: int | None
    owner_name: str
    metadata: Mapping[str, str]
    created_at: float
    updated_at: float
    registry_id: int | None = None
    repo_count: int = 0
    #: the caller's roles here (``current_user_role_ids``), when listed for a user
    current_user_role_ids: tuple[int, ...] = ()

    @property
    def public(self) -> bool:
        return self.metadata.get("public") == "true"


@dataclass(frozen=True, slots=True)
class Member:
    """Harbor's ``ProjectMemberEntity``: ``entity_type`` "u" (user) or "g" (group)."""

    id: int
    project_id: int
    entity_type: Literal["u", "g"]
    entity_id: int
    entity_name: str
    role_id: int
    role_name: str


@dataclass(frozen=True, slots=True)
class Access:
    """Harbor's ``Access``: one (resource, action) a robot holds."""

    resource: str
    action: str
    effect: str = "allow"


@dataclass(frozen=True, slots=True)
class RobotPermission:
    """Harbor's ``RobotPermission``: kind "system" (namespace "/") or "project" (a project
    name, or "*" for every project)."""

    kind: Literal["system", "project"]
    namespace: str
    access: tuple[Access, ...]


@dataclass(frozen=True, slots=True)
class Robot:
    """Harbor's ``Robot``: ``name`` is the login name (``robot$team+ci``)."""

    id: int
    name: str
    description: str
    level: Literal["system", "project"]
    project_id: int | None
    duration: int
    #: epoch seconds, -1 never
    expires_at: int
    disabled: bool
    permissions: tuple[RobotPermission, ...]
    creator_ref: int
    creator_type: str
    created_at: float
    updated_at: float
    editable: bool = True

    def expired(self, now: float) -> bool:
        return self.expires_at != -1 and now >= self.expires_at


@dataclass(frozen=True, slots=True)
class Quota:
    """Harbor's ``Quota`` for storage: ``hard`` -1 is unlimited."""

    project_id: int
    project: str
    hard: int
    used: int
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Harbor's ``AuditLogExt`` plus where the request came from and its project."""

    id: int
    op_time: float
    operation: str
    resource_type: str
    resource: str
    username: str
    project: str
    client_ip: str
    ok: bool
    description: str = ""
