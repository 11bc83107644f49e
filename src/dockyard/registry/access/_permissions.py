"""Harbor's RBAC question answered from data: which (resource, action) pairs a principal holds
in a project, or at system level, and which parts of a token request it may be granted.

Inside a project (``src/common/rbac/project/``): a user holds the policies of each role it has
there (directly or through a group); a robot holds the accesses its permission list names for
that project (or for every project, ``*``); anyone, anonymous included, holds
:data:`PUBLIC_PROJECT_POLICIES` in a public project. At system level a signed-in user may list
and create projects, anonymous may list (public) projects, a robot holds its system accesses.
System administrators hold everything. Token scopes (``src/core/service/token/creator.go``):
``pull``/``push``/``delete`` on a repository need ``repository:pull``/``push``/``delete`` in its
project; ``*`` is granted only with all three (else the ones held); ``registry:catalog:*`` only
to system administrators. A grant never holds more than was asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from dockyard.errors import NameInvalid
from dockyard.registry.access._names import project_of
from dockyard.registry.access._roles import PUBLIC_PROJECT_POLICIES, ROLE_POLICIES, Policy, Role
from dockyard.registry.identity import Identity, Scope

__all__ = [
    "ANONYMOUS_SYSTEM_POLICIES",
    "SCOPE_ACTIONS",
    "USER_SYSTEM_POLICIES",
    "grant_scopes",
    "role_policies",
]

#: What any signed-in user may do outside projects (Harbor's default project creation
#: restriction is "everyone").
USER_SYSTEM_POLICIES: frozenset[Policy] = frozenset({("project", "create"), ("project", "list")})
ANONYMOUS_SYSTEM_POLICIES: frozenset[Policy] = frozenset({("project", "list")})

#: Token scope action → the policy it needs on the repository's project.
SCOPE_ACTIONS: dict[str, Policy] = {
    "pull": ("repository", "pull"),
    "push": ("repository", "push"),
    "delete": ("repository", "delete"),
}


def role_policies(role_ids: Iterable[int], public: bool) -> frozenset[Policy]:
    """The union of the roles' policies, plus the public-project ones if ``public``."""
    out: set[Policy] = set(PUBLIC_PROJECT_POLICIES) if public else set()
    for role_id in role_ids:
        try:
            out |= ROLE_POLICIES[Role(role_id)]
        except ValueError:
            continue  # an unknown role id grants nothing
    return frozenset(out)


def _repository_actions(actions: Sequence[str], held: frozenset[Policy] | None) -> list[str]:
    """The requested actions ``held`` allows (``None``: everything, a system admin)."""

    def has(action: str) -> bool:
        return held is None or SCOPE_ACTIONS[action] in held

    granted: list[str] = []
    for action in actions:
        if action == "*":
            if all(has(a) for a in SCOPE_ACTIONS):
                granted.append("*")
            else:
                granted.extend(a for a in SCOPE_ACTIONS if has(a))
        elif action in SCOPE_ACTIONS and has(action):
            granted.append(action)
    return list(dict.fromkeys(granted))


def grant_scopes(
    identity: Identity,
    requested: Sequence[Scope],
    *,
    sysadmin: bool,
    policies_in: Callable[[str], frozenset[Policy]],
) -> list[Scope]:
    """The part of ``requested`` the identity may have. ``policies_in(project)`` gives what it
    holds in a project (empty for a project that does not exist); scopes granted nothing are
    left out."""
    cache: dict[str, frozenset[Policy]] = {}
    out: list[Scope] = []
    for scope in requested:
        actions: list[str] = []
        if scope.type == "repository":
            try:
                project = project_of(scope.name)
            except NameInvalid:
                project = None
            if sysadmin:
                actions = _repository_actions(scope.actions, None)
            elif project is not None:
                if project not in cache:
                    cache[project] = policies_in(project)
                actions = _repository_actions(scope.actions, cache[project])
        elif scope.type == "registry" and scope.name == "catalog" and sysadmin:
            actions = [a for a in scope.actions if a == "*"]
        if actions:
            out.append(scope.with_actions(actions))
    return out
