"""Who is asking and what they may do: the two values authentication and authorization share.

An :class:`Identity` is what an authenticator makes of credentials (a local or LDAP user, a
robot account, or nobody); a :class:`Scope` is one entry of the Docker registry token spec's
``scope`` parameter and of a token's ``access`` claim (``repository:team/app:pull,push``,
``registry:catalog:*``). The token service, the access model and the registry's request checks
all speak in these two types and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from dockyard.errors import InvalidArgument

__all__ = [
    "ANONYMOUS",
    "Identity",
    "IdentityKind",
    "Scope",
    "format_scopes",
    "parse_scope",
    "parse_scopes",
]

IdentityKind = Literal["user", "robot", "anonymous"]

#: A scope's resource type: ``repository``, ``registry``, or ``repository(plugin)`` style.
_TYPE = re.compile(r"[a-z0-9]+(?:\([a-z0-9]+\))?")
#: Actions are lower-case words (``pull``, ``push``, ``delete``) or ``*``.
_ACTION = re.compile(r"[a-z]+|\*")
#: Bounds on what a client may ask for in one request (fail closed, bounded everywhere).
MAX_SCOPES = 64
MAX_SCOPE_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated principal, or :data:`ANONYMOUS`.

    ``name`` is the login name (``alice``, ``robot$team+ci``); ``id`` the account's row id where
    the account lives in a database; ``sysadmin`` grants everything; ``groups`` are the
    principal's group names (LDAP groups mapped to project roles)."""

    kind: IdentityKind
    name: str
    id: int | None = None
    sysadmin: bool = False
    groups: tuple[str, ...] = field(default=())

    @property
    def anonymous(self) -> bool:
        return self.kind == "anonymous"


ANONYMOUS = Identity(kind="anonymous", name="")


@dataclass(frozen=True, slots=True)
class Scope:
    """``type:name:action,action`` — what one part of a token request asks for or grants."""

    type: str
    name: str
    actions: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"

    def with_actions(self, actions: Iterable[str]) -> Scope:
        """This scope with ``actions`` (kept in a stable order, duplicates dropped)."""
        return Scope(self.type, self.name, tuple(dict.fromkeys(actions)))

    def claim(self) -> dict[str, object]:
        """The token spec's ``access`` claim entry."""
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}


def parse_scope(text: str) -> Scope:
    """One scope. The name may itself contain ``:`` (a registry host with a port), so the type
    is the part before the first ``:`` and the actions the part after the last one, as
    distribution parses it. InvalidArgument for anything else."""
    if len(text) > MAX_SCOPE_BYTES:
        raise InvalidArgument(f"scope longer than {MAX_SCOPE_BYTES} bytes")
    kind, sep, rest = text.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not name or _TYPE.fullmatch(kind) is None:
        raise InvalidArgument(
            f"invalid scope {text!r}: expected type:name:actions, e.g. repository:team/app:pull"
        )
    parts = [a for a in actions.split(",") if a]
    if not parts or any(_ACTION.fullmatch(a) is None for a in parts):
        raise InvalidArgument(f"invalid actions in scope {text!r}: expected e.g. pull,push")
    return Scope(kind, name, tuple(dict.fromkeys(parts)))


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Every ``scope`` query parameter; docker sends several, some clients join them with
    spaces. Scopes for the same resource are merged."""
    merged: dict[tuple[str, str], Scope] = {}
    count = 0
    for value in values:
        for text in value.split():
            count += 1
            if count > MAX_SCOPES:
                raise InvalidArgument(f"more than {MAX_SCOPES} scopes in one request")
            scope = parse_scope(text)
            key = (scope.type, scope.name)
            known = merged.get(key)
            merged[key] = (
                scope if known is None else known.with_actions(known.actions + scope.actions)
            )
    return list(merged.values())


def format_scopes(scopes: Iterable[Scope]) -> str:
    """Scopes as a ``WWW-Authenticate`` ``scope=`` value (space separated)."""
    return " ".join(str(s) for s in scopes)
