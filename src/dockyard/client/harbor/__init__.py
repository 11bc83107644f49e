"""A client for Harbor's ``/api/v2.0`` team endpoints: projects, members, quotas, users,
robot accounts and the audit log, over the registry client's connections and credentials."""

from dockyard.client.harbor._client import ROBOT_PREFIX, HarborClient
from dockyard.client.harbor._connect import connect, logged_in_registries, resolve_registry
from dockyard.client.harbor._http import ApiConnection, harbor_error
from dockyard.client.harbor._models import (
    Access,
    AuditLog,
    Member,
    Project,
    Quota,
    Robot,
    RobotPermission,
    RobotSecret,
    User,
    as_json,
)
from dockyard.client.harbor._values import (
    ROLES,
    PermissionSpec,
    group_permissions,
    new_cli_secret,
    parse_permission,
    parse_since,
    parse_size,
    role_id,
    role_name,
)

__all__ = [
    "ROBOT_PREFIX",
    "ROLES",
    "Access",
    "ApiConnection",
    "AuditLog",
    "HarborClient",
    "Member",
    "PermissionSpec",
    "Project",
    "Quota",
    "Robot",
    "RobotPermission",
    "RobotSecret",
    "User",
    "as_json",
    "connect",
    "group_permissions",
    "harbor_error",
    "logged_in_registries",
    "new_cli_secret",
    "parse_permission",
    "parse_since",
    "parse_size",
    "resolve_registry",
    "role_id",
    "role_name",
]
