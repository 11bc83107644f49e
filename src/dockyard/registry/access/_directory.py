"""Where users who are not local accounts are checked: a directory such as LDAP.

dockyard.registry.ldap's ``LdapDirectory`` satisfies :class:`Directory` as it is (its
``DirectoryUser`` is a :class:`DirectoryEntry`).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["Directory", "DirectoryEntry"]


class DirectoryEntry(Protocol):
    """Who the directory says a user is: attributes, group names (or DNs), admin group."""

    @property
    def username(self) -> str: ...

    @property
    def email(self) -> str: ...

    @property
    def realname(self) -> str: ...

    @property
    def groups(self) -> tuple[str, ...]: ...

    @property
    def admin(self) -> bool: ...


@runtime_checkable
class Directory(Protocol):
    def authenticate(self, username: str, password: str) -> DirectoryEntry | None:
        """The entry when the directory accepts these credentials, None when it does not;
        Unavailable when it cannot be reached (a login then fails without counting)."""
        ...

    # Optional: ``find(username) -> DirectoryEntry | None``, the entry as the directory lists
    # it now without a password (LdapDirectory has it); refresh tokens of directory users are
    # honoured only through it (their groups are looked up again).
