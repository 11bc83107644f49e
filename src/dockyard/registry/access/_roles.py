"""Harbor's permission table as data: what each project role may do, and what robots may hold.

Transcribed from goharbor/harbor ``src/common/rbac/project/rbac_role.go`` (``rolePoliciesMap``),
``src/common/rbac/project/rbac_util.go`` (``publicProjectPolicies``) and
``src/common/rbac/const.go`` (``PoliciesMap`` and ``NolimitProvider``: the accesses a robot
may be given). Harbor's ``ResourceSelf`` (the project itself) is spelt ``project`` here, so
``can(identity, "team", "project", "delete")`` asks whether the project may be deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from dockyard.errors import InvalidArgument

__all__ = [
    "PROJECT_ROBOT_ACCESS",
    "PUBLIC_PROJECT_POLICIES",
    "ROLE_POLICIES",
    "SYSTEM_ROBOT_ACCESS",
    "Policy",
    "Role",
    "role_of",
]

Policy = tuple[str, str]  # (resource, action)


class Role(IntEnum):
    """Harbor's project role ids (``src/common/const.go``)."""

    PROJECT_ADMIN = 1
    DEVELOPER = 2
    GUEST = 3
    MAINTAINER = 4
    LIMITED_GUEST = 5

    @property
    def harbor_name(self) -> str:
        """The role name Harbor shows (``projectAdmin``, ``limitedGuest`` …)."""
        return _HARBOR_NAMES[self]


_HARBOR_NAMES = {
    Role.PROJECT_ADMIN: "projectAdmin",
    Role.DEVELOPER: "developer",
    Role.GUEST: "guest",
    Role.MAINTAINER: "maintainer",
    Role.LIMITED_GUEST: "limitedGuest",
}


def role_of(role_id: int) -> Role:
    """The role with this id; InvalidArgument naming the valid ids otherwise."""
    try:
        return Role(role_id)
    except ValueError:
        raise InvalidArgument(
            f"role id {role_id} is not a project role",
            hint="use 1 (projectAdmin), 2 (developer), 3 (guest), 4 (maintainer) or "
            "5 (limitedGuest)",
        ) from None


def _policies(spec: str) -> frozenset[Policy]:
    """``"resource: a b c; resource2: d"`` as a set of (resource, action)."""
    out: set[Policy] = set()
    for part in spec.split(";"):
        if not part.strip():
            continue
        resource, _, actions = part.partition(":")
        out.update((resource.strip(), a) for a in actions.split())
    return frozenset(out)


def _union(*sets: Iterable[Policy]) -> frozenset[Policy]:
    return frozenset(p for s in sets for p in s)


# rbac_role.go, rolePoliciesMap (ResourceSelf → "project"), in the file's order
_PROJECT_ADMIN = _policies(
    """
    project: read update delete;
    member: create read update delete list;
    metadata: create read update delete;
    log: list;
    label: create read update delete list;
    quota: read;
    repository: create read update delete list pull push;
    tag-retention: create read update delete list operate;
    immutable-tag: create update delete list;
    configuration: read update;
    robot: create read update delete list;
    notification-policy: create update delete list read;
    scan: create read stop;
    sbom: create stop read;
    scanner: read create;
    artifact: create read delete list;
    artifact-addition: read;
    tag: list create delete;
    accessory: list;
    artifact-label: create delete;
    preheat-policy: create read update delete list;
    export-cve: create read list;
    """
)
_MAINTAINER = _policies(
    """
    project: read;
    member: read list;
    metadata: read;
    quota: read;
    label: create read update delete list;
    repository: create read update delete list push pull;
    tag-retention: create read update delete list operate;
    accessory: list;
    immutable-tag: create update delete list;
    configuration: read;
    robot: read list;
    notification-policy: read list;
    scan: create read stop;
    sbom: create stop read;
    scanner: read;
    artifact: create read delete list;
    artifact-addition: read;
    tag: list create delete;
    artifact-label: create delete;
    export-cve: create read list;
    """
)
_DEVELOPER = _policies(
    """
    project: read;
    member: read list;
    label: read list;
    quota: read;
    repository: create read update list push pull;
    tag-retention: create read update delete list operate;
    configuration: read;
    robot: read list;
    scan: read;
    sbom: read;
    scanner: read;
    artifact: create read list;
    artifact-addition: read;
    tag: list create;
    accessory: list;
    artifact-label: create delete;
    export-cve: create read list;
    """
)
_GUEST = _policies(
    """
    project: read;
    member: read list;
    label: read list;
    quota: read;
    repository: read list pull;
    configuration: read;
    robot: read list;
    scan: read;
    sbom: read;
    scanner: read;
    tag: list;
    accessory: list;
    artifact: read list;
    artifact-addition: read;
    """
)
_LIMITED_GUEST = _policies(
    """
    project: read;
    quota: read;
    repository: list read pull;
    configuration: read;
    scan: read;
    sbom: read;
    scanner: read;
    tag: list;
    accessory: list;
    artifact: read list;
    artifact-addition: read;
    """
)

#: role → the (resource, action) pairs it allows inside its project.
ROLE_POLICIES: dict[Role, frozenset[Policy]] = {
    Role.PROJECT_ADMIN: _PROJECT_ADMIN,
    Role.MAINTAINER: _MAINTAINER,
    Role.DEVELOPER: _DEVELOPER,
    Role.GUEST: _GUEST,
    Role.LIMITED_GUEST: _LIMITED_GUEST,
}

#: rbac_util.go, publicProjectPolicies: what anyone (anonymous included) may do in a public
#: project.
PUBLIC_PROJECT_POLICIES = _policies(
    """
    project: read;
    label: read list;
    repository: list pull;
    scan: read;
    scanner: read;
    tag: list;
    artifact: read list;
    artifact-addition: read;
    accessory: list;
    """
)

# const.go, PoliciesMap[ScopeSystem] + NolimitProvider's additions for ScopeSystem
SYSTEM_ROBOT_ACCESS = _union(
    _policies(
        """
        audit-log: list;
        preheat-instance: read create delete list update;
        project: list create;
        replication-policy: read create delete list update;
        replication: read create list;
        replication-adapter: list;
        registry: read create delete list update;
        scan-all: read update stop create;
        system-volumes: read;
        garbage-collection: read create list update stop;
        purge-audit: read create list update stop;
        jobservice-monitor: list stop;
        scanner: read create delete list update;
        label: read create delete update;
        security-hub: read list;
        catalog: read;
        quota: read list;
        """
    ),
    _policies(
        """
        robot: create read list delete;
        user: create read update list delete;
        ldap-user: create list;
        quota: update;
        user-group: create read update list delete;
        """
    ),
)

# const.go, PoliciesMap[ScopeProject] + NolimitProvider's additions for ScopeProject
# (ResourceProject there is the project itself).
PROJECT_ROBOT_ACCESS = _union(
    _policies(
        """
        log: list;
        project: read delete update;
        metadata: read create delete list update;
        repository: read update delete list pull push;
        artifact: read create list delete;
        scan: create read stop;
        sbom: create stop read;
        tag: create list delete;
        accessory: list;
        artifact-addition: read;
        artifact-label: create delete;
        scanner: create read;
        preheat-policy: read create delete list update;
        immutable-tag: create delete list update;
        notification-policy: read create delete list update;
        tag-retention: read create delete list update;
        label: read create delete list update;
        quota: read;
        """
    ),
    _policies(
        """
        robot: create read list delete;
        export-cve: create read;
        member: create read update list delete;
        """
    ),
)
