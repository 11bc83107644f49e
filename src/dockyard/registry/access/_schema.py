"""The access model's tables (SQLAlchemy Core, their own MetaData) in the registry's database.

Times are seconds since the epoch (floats), as in the registry's own tables. Secrets are never
stored: passwords as bcrypt hashes, CLI and robot secrets (long random strings) as SHA-256.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    CursorResult,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    select,
)

__all__ = [
    "audit_log",
    "delete_project_rows",
    "delete_robot_rows",
    "delete_user_rows",
    "groups",
    "login_failures",
    "members",
    "metadata",
    "new_id",
    "project_metadata",
    "projects",
    "quota_blobs",
    "quotas",
    "robot_permissions",
    "robots",
    "users",
]

metadata = MetaData()

_NAME = String(255)

users = Table(
    "access_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", _NAME, nullable=False, unique=True),
    Column("email", _NAME, nullable=False, default=""),
    Column("realname", _NAME, nullable=False, default=""),
    Column("comment", String(1024), nullable=False, default=""),
    #: bcrypt; None for accounts that live in a directory (LDAP)
    Column("password_hash", String(60)),
    Column("sysadmin", Boolean, nullable=False, default=False),
    #: a directory user in the directory's admin group (refreshed at each login)
    Column("admin_in_auth", Boolean, nullable=False, default=False),
    #: "local" or "ldap"
    Column("source", String(16), nullable=False, default="local"),
    #: SHA-256 hex of the CLI secret, None when there is none
    Column("cli_secret_hash", String(64)),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

#: User groups (Harbor's user-group: 1 LDAP, 2 HTTP, 3 OIDC), members of projects by name/DN.
groups = Table(
    "access_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", _NAME, nullable=False),
    Column("group_type", Integer, nullable=False, default=1),
    Column("ldap_group_dn", String(512), nullable=False, default=""),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("name", "group_type", name="uq_access_groups_name"),
)

projects = Table(
    "access_projects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", _NAME, nullable=False, unique=True),
    Column("owner_id", Integer, ForeignKey("access_users.id", ondelete="SET NULL")),
    Column("registry_id", Integer),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

#: Harbor's project metadata: string values ("true"/"false", severities …).
project_metadata = Table(
    "access_project_metadata",
    metadata,
    Column(
        "project_id", Integer, ForeignKey("access_projects.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("name", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)  # fmt: skip

members = Table(
    "access_members",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "project_id", Integer, ForeignKey("access_projects.id", ondelete="CASCADE"),
        nullable=False,
    ),
    #: "u" (user) or "g" (group), as Harbor
    Column("entity_type", String(1), nullable=False),
    Column("entity_id", Integer, nullable=False),
    Column("role_id", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("project_id", "entity_type", "entity_id", name="uq_access_members_entity"),
    Index("ix_access_members_entity", "entity_type", "entity_id"),
)  # fmt: skip

robots = Table(
    "access_robots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    #: the login name without "robot$": "ci" (system) or "team+ci" (project)
    Column("name", _NAME, nullable=False, unique=True),
    Column("description", String(1024), nullable=False, default=""),
    Column("secret_hash", String(64), nullable=False),
    #: the project of a project-level robot; None at system level
    Column("project_id", Integer, ForeignKey("access_projects.id", ondelete="CASCADE")),
    Column("duration", Integer, nullable=False),
    #: epoch seconds, -1 never
    Column("expires_at", BigInteger, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("creator_ref", Integer, nullable=False, default=0),
    Column("creator_type", String(16), nullable=False, default="local"),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

#: One access of one robot: kind "system" (namespace "/") or "project" (a project, or "*").
robot_permissions = Table(
    "access_robot_permissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("robot_id", Integer, ForeignKey("access_robots.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    #: the project for kind "project" (None: every project, namespace "*")
    Column("project_id", Integer, ForeignKey("access_projects.id", ondelete="CASCADE")),
    Column("namespace", _NAME, nullable=False),
    Column("resource", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("effect", String(8), nullable=False, default="allow"),
    UniqueConstraint(
        "robot_id", "kind", "namespace", "resource", "action", name="uq_access_robot_permission"
    ),
)

quotas = Table(
    "access_quotas",
    metadata,
    Column(
        "project_id", Integer, ForeignKey("access_projects.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    #: bytes; -1 unlimited
    Column("hard", BigInteger, nullable=False),
    Column("used", BigInteger, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)  # fmt: skip

#: The blobs counted in a project's usage (each once, however many repositories share it).
quota_blobs = Table(
    "access_quota_blobs",
    metadata,
    Column(
        "project_id", Integer, ForeignKey("access_projects.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("digest", String(200), primary_key=True),
    Column("size", BigInteger, nullable=False),
)  # fmt: skip

#: Failed logins still counted for brute-force protection, one row per (key, failure), where
#: every worker process sees them; bounded and pruned by dockyard.registry.access._lockout.
login_failures = Table(
    "access_login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    #: ``ip:<address>`` or ``user:<name>``
    Column("key", String(330), nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_access_login_failures_key", "key", "at"),
    Index("ix_access_login_failures_at", "at"),
)

audit_log = Table(
    "access_audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("op_time", Float, nullable=False),
    Column("operation", String(32), nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("resource", String(512), nullable=False),
    Column("username", _NAME, nullable=False),
    #: the project the resource is in ("" for system-level events)
    Column("project", _NAME, nullable=False, default=""),
    Column("client_ip", String(64), nullable=False, default=""),
    Column("ok", Boolean, nullable=False),
    Column("description", String(1024), nullable=False, default=""),
    Index("ix_access_audit_time", "op_time"),
    Index("ix_access_audit_project_time", "project", "op_time"),
    Index("ix_access_audit_user_time", "username", "op_time"),
    Index("ix_access_audit_operation_time", "operation", "op_time"),
    Index("ix_access_audit_resource", "resource"),
)


def new_id(result: CursorResult[Any]) -> int:
    """The primary key an INSERT made."""
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - every table here has an integer key
        raise RuntimeError("the database did not report the new row's id")
    return int(key[0])


# Deletes cascade by hand: SQLite enforces foreign keys only on connections that ask for it
# (the registry's own engine does, a plain ``sqlite://`` URL does not), so the rows that hang
# off a project, robot or user are removed explicitly, children first.


def delete_robot_rows(conn: Connection, robot_ids: Any) -> None:
    """Delete robots (a list of ids or a subquery) and their permissions."""
    conn.execute(robot_permissions.delete().where(robot_permissions.c.robot_id.in_(robot_ids)))
    conn.execute(robots.delete().where(robots.c.id.in_(robot_ids)))


def delete_project_rows(conn: Connection, project_id: int) -> None:
    """Delete a project and everything of it: metadata, members, quota, its robots and other
    robots' permissions in it."""
    delete_robot_rows(conn, select(robots.c.id).where(robots.c.project_id == project_id))
    conn.execute(robot_permissions.delete().where(robot_permissions.c.project_id == project_id))
    for t in (project_metadata, members, quota_blobs, quotas):
        conn.execute(t.delete().where(t.c.project_id == project_id))
    conn.execute(projects.delete().where(projects.c.id == project_id))


def delete_user_rows(conn: Connection, user_id: int) -> None:
    """Delete a user and its memberships; projects it owned keep going without an owner."""
    conn.execute(
        members.delete().where(members.c.entity_type == "u", members.c.entity_id == user_id)
    )
    conn.execute(projects.update().where(projects.c.owner_id == user_id).values(owner_id=None))
    conn.execute(users.delete().where(users.c.id == user_id))
