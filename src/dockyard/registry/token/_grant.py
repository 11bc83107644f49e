"""Who gets which scopes: the token service's question to whatever holds the accounts.

:class:`Granter` is the protocol (the access model implements it); :class:`HtpasswdGranter` is
registry:2 with a token server in front: an htpasswd user gets every scope they ask for, and
nobody else gets anything.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from dockyard.registry.auth import HtpasswdAuthenticator
from dockyard.registry.identity import Identity, Scope

__all__ = ["Granter", "HtpasswdGranter", "SubjectLookup", "granted_subset"]


@runtime_checkable
class Granter(Protocol):
    def authenticate(self, username: str, password: str, *, client_ip: str) -> Identity:
        """The identity, or raise :class:`~dockyard.registry.auth.AuthenticationRequired` (bad
        credentials) / :class:`~dockyard.errors.TooManyRequests` (429, ``retry_after``). May
        block (bcrypt, LDAP): the token service calls it from a worker thread."""
        ...

    def grant(self, identity: Identity, requested: Sequence[Scope]) -> list[Scope]:
        """The subset of ``requested`` this identity may have (never more)."""
        ...


@runtime_checkable
class SubjectLookup(Protocol):
    """Optional for a :class:`Granter`: the identity a refresh token's subject names now, or
    None when the account is gone or disabled (which revokes its refresh tokens). A granter
    without it gets no refresh tokens issued (``offline_token`` is then ignored)."""

    def identity_of(self, subject: str) -> Identity | None: ...


def granted_subset(requested: Sequence[Scope], granted: Sequence[Scope]) -> list[Scope]:
    """``granted`` cut down to what was ``requested`` (a granter can never widen a request).

    A requested ``*`` asks for every action: whatever the granter gave for that resource is
    within it (Harbor answers ``repository:x:*`` from a guest with ``pull``)."""
    allowed: dict[tuple[str, str], dict[str, None]] = {}
    for scope in granted:
        allowed.setdefault((scope.type, scope.name), {}).update(dict.fromkeys(scope.actions))
    out: list[Scope] = []
    for scope in requested:
        have = allowed.get((scope.type, scope.name), {})
        if "*" in scope.actions:
            actions = list(have)
        else:
            actions = [a for a in scope.actions if a in have or "*" in have]
        if actions:
            out.append(scope.with_actions(actions))
    return out


class HtpasswdGranter:
    """htpasswd users get what they ask for; anonymous callers get nothing."""

    def __init__(self, authenticator: HtpasswdAuthenticator) -> None:
        self.authenticator = authenticator

    def authenticate(self, username: str, password: str, *, client_ip: str) -> Identity:
        del client_ip
        header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        name = self.authenticator.authenticate_cached(header)
        if name is None:
            name = self.authenticator.authenticate(header)
        return Identity(kind="user", name=name)

    def grant(self, identity: Identity, requested: Sequence[Scope]) -> list[Scope]:
        if identity.anonymous:
            return []
        return list(requested)

    def identity_of(self, subject: str) -> Identity | None:
        return (
            Identity(kind="user", name=subject) if subject in self.authenticator.users() else None
        )
