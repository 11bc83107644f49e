"""People and their groups in an LDAP directory, as Harbor's LDAP auth mode finds them.

A login is a *search bind*: bind with the search account, find exactly one entry matching
``(&<filter>(<uid>=<name>))`` under the base DN, then bind as that entry with the password the
user gave. Groups come from the user entry's membership attribute (``memberOf``, filled by
OpenLDAP's memberof overlay or Active Directory), or, where the entry has none, from a search
for groups under the group base DN that list the user's DN as a ``member``/``uniqueMember``.
The option names are Harbor's (``ldap_url``, ``ldap_search_dn``, ``ldap_base_dn``, ``ldap_uid``,
``ldap_filter``, ``ldap_group_base_dn``, ``ldap_group_admin_dn``… without the prefix).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import InvalidArgument, Unavailable

__all__ = ["DirectoryUser", "LdapConfig", "LdapDirectory"]

_log = logging.getLogger("dockyard.registry.ldap")

#: Bounds: a user name, a password, and how many groups one login may bring.
MAX_NAME = 255
MAX_PASSWORD = 1024
MAX_GROUPS = 1024
_SCOPES = {"base": "BASE", "onelevel": "LEVEL", "subtree": "SUBTREE"}


@dataclass(frozen=True, slots=True)
class LdapConfig:
    url: str
    base_dn: str
    search_dn: str = ""
    search_password: str = field(default="", repr=False)
    uid: str = "uid"
    filter: str = ""
    scope: str = "subtree"
    timeout: float = 5.0
    verify_cert: bool = True
    group_base_dn: str = ""
    group_filter: str = "(objectClass=groupOfNames)"
    group_membership_attribute: str = "memberOf"
    group_member_attributes: tuple[str, ...] = ("member", "uniqueMember")
    group_admin_dn: str = ""

    def __post_init__(self) -> None:
        if not self.url.startswith(("ldap://", "ldaps://")):
            raise InvalidArgument(f"ldap url {self.url!r} must start with ldap:// or ldaps://")
        if not self.base_dn:
            raise InvalidArgument("ldap needs base_dn: where to search for users")
        if self.scope not in _SCOPES:
            raise InvalidArgument(
                f"ldap scope {self.scope!r} is not one of {', '.join(sorted(_SCOPES))}"
            )
        if self.filter and not (self.filter.startswith("(") and self.filter.endswith(")")):
            raise InvalidArgument(f"ldap filter {self.filter!r} must be in parentheses")
        if not 0 < self.timeout <= 60:
            raise InvalidArgument("ldap timeout must be between 0 and 60 seconds")


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """Who the directory says a user is: their entry's DN, name, e-mail, display name and the
    DNs of their groups (lower-cased, as DNs compare case-insensitively)."""

    dn: str
    username: str
    email: str
    realname: str
    groups: tuple[str, ...]
    admin: bool


class LdapDirectory:
    """Authenticates users against LDAP; each call opens its own short connections."""

    def __init__(self, config: LdapConfig) -> None:
        self.config = config

    def authenticate(self, username: str, password: str) -> DirectoryUser | None:
        """The user when the directory accepts ``password`` for ``username``; None when it does
        not (unknown user, wrong password, several entries match). Unavailable when the
        directory cannot be reached or the search account is refused."""
        # An empty password is an LDAP "unauthenticated bind", which succeeds: never allow it.
        if not password or len(password) > MAX_PASSWORD:
            return None
        return self._lookup(username, password)

    def find(self, username: str) -> DirectoryUser | None:
        """The user as the directory lists them now (found with the search account, no
        password checked): None when they are gone. Unavailable as for :meth:`authenticate`."""
        return self._lookup(username, None)

    def _lookup(self, username: str, password: str | None) -> DirectoryUser | None:
        if not username or len(username) > MAX_NAME or any(ord(c) < 32 for c in username):
            return None
        import ldap3
        from ldap3.core.exceptions import LDAPException
        from ldap3.utils.conv import escape_filter_chars

        cfg = self.config
        try:
            server = self._server(ldap3)
            conn = self._search_connection(ldap3, server)
            try:
                query = f"({cfg.uid}={escape_filter_chars(username)})"
                if cfg.filter:
                    query = f"(&{cfg.filter}{query})"
                conn.search(
                    cfg.base_dn,
                    query,
                    search_scope=getattr(ldap3, _SCOPES[cfg.scope]),
                    attributes=[
                        cfg.uid,
                        "mail",
                        "cn",
                        "displayName",
                        cfg.group_membership_attribute,
                    ],
                    size_limit=2,
                    time_limit=int(cfg.timeout),
                )
                entries = list(conn.entries)
                if len(entries) != 1:
                    _log.info("ldap: %d entries for user %r", len(entries), username)
                    return None
                entry = entries[0]
                dn = str(entry.entry_dn)
                attrs: dict[str, Any] = entry.entry_attributes_as_dict
                groups = [str(g) for g in attrs.get(cfg.group_membership_attribute, [])]
                if not groups and cfg.group_base_dn:
                    groups = self._groups_by_search(conn, dn, escape_filter_chars)
            finally:
                conn.unbind()
            if password is not None:
                user_conn = ldap3.Connection(
                    server,
                    user=dn,
                    password=password,
                    receive_timeout=max(1, int(cfg.timeout)),
                    read_only=True,
                )
                try:
                    if not user_conn.bind():
                        return None
                finally:
                    user_conn.unbind()
        except LDAPException as exc:
            raise Unavailable(
                f"the LDAP directory {cfg.url} cannot be used: {exc}",
                hint="check auth.projects.ldap (url, searchdn, searchpassword, basedn)",
            ) from exc
        lowered = tuple(dict.fromkeys(g.lower() for g in groups[:MAX_GROUPS]))
        return DirectoryUser(
            dn=dn,
            username=username,
            email=_first(attrs.get("mail")),
            realname=_first(attrs.get("displayName")) or _first(attrs.get("cn")),
            groups=lowered,
            admin=bool(cfg.group_admin_dn) and cfg.group_admin_dn.lower() in lowered,
        )

    def _server(self, ldap3: Any) -> Any:
        cfg = self.config
        tls = None
        if cfg.url.startswith("ldaps://"):
            import ssl

            tls = ldap3.Tls(validate=ssl.CERT_REQUIRED if cfg.verify_cert else ssl.CERT_NONE)
        return ldap3.Server(cfg.url, connect_timeout=cfg.timeout, tls=tls, get_info=ldap3.NONE)

    def _search_connection(self, ldap3: Any, server: Any) -> Any:
        cfg = self.config
        conn = ldap3.Connection(
            server,
            user=cfg.search_dn or None,
            password=cfg.search_password or None,
            receive_timeout=max(1, int(cfg.timeout)),
            read_only=True,
        )
        try:
            bound = conn.bind()
        except Exception:
            _close(conn)  # ldap3 leaves the socket of a failed connect open
            raise
        if not bound:
            _close(conn)
            raise Unavailable(
                f"the LDAP directory {cfg.url} refused the search account "
                f"{cfg.search_dn or '(anonymous)'}: {conn.result.get('description', 'bind failed')}",
                hint="check auth.projects.ldap.searchdn and searchpassword",
            )
        return conn

    def _groups_by_search(self, conn: Any, dn: str, escape: Any) -> list[str]:
        cfg = self.config
        members = "".join(f"({a}={escape(dn)})" for a in cfg.group_member_attributes)
        conn.search(
            cfg.group_base_dn,
            f"(&{cfg.group_filter}(|{members}))",
            attributes=[],
            size_limit=MAX_GROUPS,
            time_limit=int(cfg.timeout),
        )
        return [str(e.entry_dn) for e in conn.entries]


def _close(conn: Any) -> None:
    with contextlib.suppress(Exception):
        conn.unbind()
    close = getattr(getattr(conn, "socket", None), "close", None)
    if close is not None:
        close()


def _first(values: Any) -> str:
    if isinstance(values, list) and values:
        return str(values[0])
    return ""
