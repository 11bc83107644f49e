"""Who may call the API and what they may do: the one question every handler asks.

:class:`ApiSecurity` is what the access model implements (projects, roles, robots). Until it
is configured, :class:`RegistrySecurity` follows the registry's own auth: with an htpasswd
``Authenticator`` any authenticated user may do everything and anonymous callers nothing; with
no auth at all, everyone may do everything, as on /v2/; with auth it cannot check, nothing.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from dockyard.registry.auth import Authenticator
from dockyard.registry.identity import ANONYMOUS, Identity

__all__ = ["ApiSecurity", "RegistrySecurity"]


@runtime_checkable
class ApiSecurity(Protocol):
    def identify(self, authorization: str | None, *, client_ip: str) -> Identity:
        """ANONYMOUS when no credentials; AuthenticationRequired when they are wrong."""
        ...

    def can(self, identity: Identity, project: str | None, resource: str, action: str) -> bool:
        """Harbor's RBAC question: resource e.g. "repository", "artifact", "tag", "member",
        "robot", "project", "metadata", "quota", "log"; action e.g. "pull", "push",
        "create", "read", "update", "delete", "list". project None = system level."""
        ...


class RegistrySecurity:
    """The registry's htpasswd auth (or none) as an :class:`ApiSecurity`. ``allow_all`` (default:
    no authenticator) lets everyone do everything; a registry whose auth this class cannot
    check (bearer tokens only) passes ``allow_all=False`` and the API lets nobody in."""

    def __init__(
        self, authenticator: Authenticator | None = None, *, allow_all: bool | None = None
    ) -> None:
        self.authenticator = authenticator
        self.allow_all = authenticator is None if allow_all is None else allow_all

    def identify(self, authorization: str | None, *, client_ip: str) -> Identity:
        if self.authenticator is None or not authorization:
            return ANONYMOUS
        name = self.authenticator.authenticate_cached(authorization)
        if name is None:
            name = self.authenticator.authenticate(authorization)  # blocking: bcrypt
        return Identity(kind="user", name=name)

    def can(self, identity: Identity, project: str | None, resource: str, action: str) -> bool:
        return self.allow_all or (self.authenticator is not None and not identity.anonymous)
