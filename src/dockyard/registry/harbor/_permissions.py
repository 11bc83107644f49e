"""``GET /users/current/permissions?scope=/project/1&relative=true``: which of a namespace's
policies the caller holds, as Harbor's UI asks before it shows a button.

A project namespace's policies are every (resource, action) any project role has; the system
namespace's are what a system robot may be given plus what any signed-in user may do. Harbor
names a project itself ``/project/1`` (relative: ``.``) and its parts ``/project/1/<resource>``;
the system's ``/system/<resource>``.
"""

from __future__ import annotations

import re

from dockyard.registry.access import ROLE_POLICIES, SYSTEM_ROBOT_ACCESS, AccessService, Policy
from dockyard.registry.harbor._access import access_of
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._query import parse_bool
from dockyard.registry.identity import Identity

__all__ = ["current_permissions"]

_PROJECT_SCOPE = re.compile(r"^/project/([^/]*)/?")
_MAX_SCOPE = 1024

#: Every policy of a project namespace (Harbor's ``computeSubPoliciesForProject``).
PROJECT_POLICIES: tuple[Policy, ...] = tuple(
    sorted({p for policies in ROLE_POLICIES.values() for p in policies})
)
#: Every policy of the system namespace.
SYSTEM_POLICIES: tuple[Policy, ...] = tuple(
    sorted(SYSTEM_ROBOT_ACCESS | {("project", "create"), ("project", "list")})
)


def _relative(resource: str, scope: str) -> str | None:
    """Harbor's ``Resource.RelativeTo``: None when ``resource`` is not under ``scope``."""
    if not resource.startswith(scope):
        return None
    return resource[len(scope) :].lstrip("/") or "."


def _held(access: AccessService, identity: Identity, scope: str) -> list[tuple[str, str]]:
    """(resource path, action) of each policy of the scope's namespace the caller holds."""
    match = _PROJECT_SCOPE.match(scope)
    if match is not None:
        digits = match.group(1)
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 18):
            return []
        found = access.projects.find(int(digits))
        name = found.name if found else ""
        base = f"/project/{int(digits)}"
        return [
            (base if resource == "project" else f"{base}/{resource}", action)
            for resource, action in PROJECT_POLICIES
            if access.can(identity, name, resource, action)
        ]
    if scope.startswith("/system"):
        return [
            (f"/system/{resource}", action)
            for resource, action in SYSTEM_POLICIES
            if access.can(identity, None, resource, action)
        ]
    return []


async def current_permissions(call: Call) -> Reply:
    access = access_of(call)
    identity = await call.authenticated()
    scope = (call.query("scope") or "")[:_MAX_SCOPE]
    relative = parse_bool("relative", call.query("relative"), False)
    held = await call.run(_held, access, identity, scope)
    out = []
    for resource, action in held:
        shown = _relative(resource, scope) if relative else resource
        if shown is not None:
            out.append({"resource": shown, "action": action})
    return Reply(json=out)
