"""Which access a ``/v2/`` request needs, and whether a caller's granted access covers it.

This is the one place that maps a route and a method to the token spec's scopes, as
distribution does: reads (GET/HEAD of manifests, blobs, tags, referrers, extensions) need
``pull``; writes (PUT/POST/PATCH) need ``pull`` and ``push``; DELETE needs ``delete``;
``/v2/_catalog`` needs ``registry:catalog:*``; ``/v2/`` itself needs no scope, only a valid
credential. A cross-repository mount's source is checked by :func:`dockyard.registry.can_read`
with the same :class:`AccessSet` (a refused mount becomes a normal upload).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from dockyard.registry.identity import Scope

if TYPE_CHECKING:
    from dockyard.registry.http._io import Request
    from dockyard.registry.http._routes import Target

__all__ = ["AccessSet", "Authorizer", "needed_scopes"]

_READ = frozenset({"GET", "HEAD"})
_WRITE = frozenset({"PUT", "POST", "PATCH"})
CATALOG = Scope("registry", "catalog", ("*",))


@dataclass(frozen=True, slots=True)
class AccessSet:
    """Granted ``(type, name, action)`` triples; an action ``*`` grants every action."""

    entries: frozenset[tuple[str, str, str]]

    @classmethod
    def of(cls, scopes: Iterable[Scope]) -> AccessSet:
        return cls(frozenset((s.type, s.name, a) for s in scopes for a in s.actions))

    def allows(self, kind: str, name: str, action: str) -> bool:
        entries = self.entries
        return (kind, name, action) in entries or (kind, name, "*") in entries

    def covers(self, scope: Scope) -> bool:
        return all(self.allows(scope.type, scope.name, a) for a in scope.actions)

    def scopes(self) -> list[Scope]:
        """The set as scopes, one per resource, sorted (for claims and logs)."""
        merged: dict[tuple[str, str], list[str]] = {}
        for kind, name, action in sorted(self.entries):
            merged.setdefault((kind, name), []).append(action)
        return [Scope(k, n, tuple(a)) for (k, n), a in merged.items()]


EMPTY = AccessSet(frozenset())


@lru_cache(maxsize=8192)
def needed_scopes(target: Target, method: str) -> tuple[Scope, ...]:
    """The scopes a request for ``target`` with ``method`` needs (distribution's table)."""
    route = target.route.value
    if route == "base":
        return ()
    if route == "catalog":
        return (CATALOG,)
    if method in _READ:
        actions: tuple[str, ...] = ("pull",)
    elif method in _WRITE:
        actions = ("pull", "push")
    elif method == "DELETE":
        actions = ("delete",)
    else:  # an unknown method: the handler answers 405, but not before the caller proves push
        actions = ("pull", "push")
    return (Scope("repository", target.name, actions),)


class Authorizer(Protocol):
    """Checks a ``/v2/`` request before its handler runs: sets ``request.user`` (the subject)
    and ``request.access`` (what it was granted), or raises
    :class:`~dockyard.registry.auth.AuthenticationRequired` with the challenge to send."""

    def authorize(self, request: Request, needed: Sequence[Scope]) -> None: ...
