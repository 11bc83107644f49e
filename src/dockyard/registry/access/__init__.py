"""The access model: Harbor's projects, users, roles, robots, quotas and audit log.

A library over SQLAlchemy Core tables in the registry's database. :class:`AccessService` is
the façade: it authenticates (local users, CLI secrets, robots, a :class:`Directory`), answers
Harbor's RBAC question (``can``), grants token scopes (``grant``), and makes the audited
changes; its stores do the rest.
"""

from dockyard.registry.access._audit import AuditLog, AuditQuery, Match
from dockyard.registry.access._config import AccessConfig
from dockyard.registry.access._directory import Directory, DirectoryEntry
from dockyard.registry.access._lockout import Lockout, LockoutPolicy
from dockyard.registry.access._members import MemberStore
from dockyard.registry.access._names import (
    ROBOT_PREFIX,
    check_project_name,
    check_robot_name,
    check_user_name,
    project_of,
    robot_login_name,
)
from dockyard.registry.access._permissions import SCOPE_ACTIONS, grant_scopes, role_policies
from dockyard.registry.access._projects import METADATA_KEYS, ProjectStore, check_metadata
from dockyard.registry.access._quotas import QuotaExceeded, QuotaStore, format_size
from dockyard.registry.access._records import (
    MAX_PAGE_SIZE,
    Access,
    AuditEntry,
    Member,
    Page,
    Project,
    Quota,
    Robot,
    RobotPermission,
    User,
    check_paging,
)
from dockyard.registry.access._robots import RobotStore
from dockyard.registry.access._roles import (
    PROJECT_ROBOT_ACCESS,
    PUBLIC_PROJECT_POLICIES,
    ROLE_POLICIES,
    SYSTEM_ROBOT_ACCESS,
    Policy,
    Role,
    role_of,
)
from dockyard.registry.access._service import AccessService
from dockyard.registry.access._users import ADMIN, UserStore

__all__ = [
    "ADMIN",
    "MAX_PAGE_SIZE",
    "METADATA_KEYS",
    "PROJECT_ROBOT_ACCESS",
    "PUBLIC_PROJECT_POLICIES",
    "ROBOT_PREFIX",
    "ROLE_POLICIES",
    "SCOPE_ACTIONS",
    "SYSTEM_ROBOT_ACCESS",
    "Access",
    "AccessConfig",
    "AccessService",
    "AuditEntry",
    "AuditLog",
    "AuditQuery",
    "Directory",
    "DirectoryEntry",
    "Lockout",
    "LockoutPolicy",
    "Match",
    "Member",
    "MemberStore",
    "Page",
    "Policy",
    "Project",
    "ProjectStore",
    "Quota",
    "QuotaExceeded",
    "QuotaStore",
    "Robot",
    "RobotPermission",
    "RobotStore",
    "Role",
    "User",
    "UserStore",
    "check_metadata",
    "check_paging",
    "check_project_name",
    "check_robot_name",
    "check_user_name",
    "format_size",
    "grant_scopes",
    "project_of",
    "robot_login_name",
    "role_of",
    "role_policies",
]
