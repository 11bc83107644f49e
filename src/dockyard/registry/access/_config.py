"""The ``auth.projects`` section: the access model's settings (``REGISTRY_AUTH=projects``).

::

    auth:
      projects:
        realm: dockyard            # the Basic realm named in challenges
        passwordcost: 10           # bcrypt cost of new password hashes (4-17)
        tokenexpiration: 30m       # lifetime of the registry tokens it grants (Harbor: 30m)
        lockout: {delayafter: 5, refuseafter: 10, window: 15m, delay: 1s, maxentries: 10000}
        audit: {retention: 2160h, maxrows: 1000000}   # retention 0: keep until maxrows
        service: dockyard-registry # the token service's audience (``service=`` in challenges)
        issuer: dockyard           # the ``iss`` of the tokens it signs
        tokenrealm: https://registry.example.com/service/token   # default: this registry's
        key: token.key             # PEM signing key and certificate (default: created once
        certificate: token.pem     # under the data directory, as auth.htpasswd.token does)
        ldap:                      # LDAP users (Harbor's ldap_* options without the prefix)
          url: ldap://ldap.example.org
          searchdn: cn=reader,dc=example,dc=org
          searchpassword: secret
          basedn: ou=people,dc=example,dc=org
          uid: uid                 # also: filter, scope (base|onelevel|subtree or 0|1|2),
          groupbasedn: ou=groups,dc=example,dc=org   # timeout, verifycert, groupfilter,
          groupadmindn: cn=admins,ou=groups,dc=example,dc=org  # groupmembershipattribute

Keys are spelt without separators, as registry:2's, so that every one can also be set from
the environment (``REGISTRY_AUTH_PROJECTS_LOCKOUT_REFUSEAFTER=20``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.registry.access._lockout import LockoutPolicy
from dockyard.registry.ldap import LdapConfig
from dockyard.registry.limits import parse_duration

__all__ = ["AccessConfig"]

#: Bounds: tokens live 1 minute to 1 day; bcrypt 4 to 17 (htpasswd's range).
MIN_TOKEN, MAX_TOKEN = 60.0, 86400.0
#: Audit entries are kept 90 days by default.
DEFAULT_RETENTION = 90 * 86400.0


def _duration(value: Any, key: str, *, zero: bool = False) -> float:
    if zero and str(value).strip() in ("0", "0s", "0m", "0h"):
        return 0.0
    return parse_duration(value, key)


@dataclass(frozen=True, slots=True)
class AccessConfig:
    realm: str = "dockyard"
    password_cost: int = 10
    token_expiration: float = 1800.0
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    #: seconds an audit entry is kept (None: until max_rows pushes it out)
    audit_retention: float | None = DEFAULT_RETENTION
    audit_max_rows: int = 1_000_000
    #: the token service: audience, issuer, where clients get tokens (None: this registry's
    #: own ``/service/token`` on the host the client used), signing key and certificate
    #: (None: created under the data directory)
    service: str = "dockyard-registry"
    issuer: str = "dockyard"
    token_realm: str | None = None
    key: Path | None = None
    certificate: Path | None = None
    #: LDAP users (None: local accounts and robots only)
    ldap: LdapConfig | None = None

    def __post_init__(self) -> None:
        if not 4 <= self.password_cost <= 17:
            raise InvalidArgument(
                f"auth.projects.passwordcost {self.password_cost} is out of range",
                hint="use 4 to 17 (10 is a good default)",
            )
        if not MIN_TOKEN <= self.token_expiration <= MAX_TOKEN:
            raise InvalidArgument(
                "auth.projects.tokenexpiration must be between 1m and 24h",
                hint="e.g. tokenexpiration: 30m",
            )
        if not 1 <= self.audit_max_rows <= 100_000_000:
            raise InvalidArgument("auth.projects.audit.maxrows must be 1 to 100000000")
        if (self.key is None) != (self.certificate is None):
            raise InvalidArgument(
                "auth.projects needs both key and certificate, or neither",
                hint="set both (PEM files), or neither and dockyard creates its own signing key",
            )

    @classmethod
    def from_section(cls, section: Mapping[str, Any] | None) -> AccessConfig:
        """From the checked ``auth.projects`` tree (ints already ints, durations as text)."""
        s = dict(section or {})
        lock = dict(s.get("lockout") or {})
        audit = dict(s.get("audit") or {})
        base = LockoutPolicy()
        policy = LockoutPolicy(
            delay_after=lock.get("delayafter", base.delay_after),
            refuse_after=lock.get("refuseafter", base.refuse_after),
            window=_duration(lock["window"], "auth.projects.lockout.window")
            if "window" in lock else base.window,
            delay=_duration(lock["delay"], "auth.projects.lockout.delay", zero=True)
            if "delay" in lock else base.delay,
            max_entries=lock.get("maxentries", base.max_entries),
        )  # fmt: skip
        retention: float | None = DEFAULT_RETENTION
        if "retention" in audit:
            retention = _duration(audit["retention"], "auth.projects.audit.retention", zero=True)
            retention = retention or None
        return cls(
            realm=s.get("realm") or "dockyard",
            password_cost=s.get("passwordcost", 10),
            token_expiration=_duration(s["tokenexpiration"], "auth.projects.tokenexpiration")
            if "tokenexpiration" in s else 1800.0,
            lockout=policy,
            audit_retention=retention,
            audit_max_rows=audit.get("maxrows", 1_000_000),
            service=s.get("service") or "dockyard-registry",
            issuer=s.get("issuer") or "dockyard",
            token_realm=s.get("tokenrealm") or None,
            key=Path(s["key"]) if s.get("key") else None,
            certificate=Path(s["certificate"]) if s.get("certificate") else None,
            ldap=_ldap(s.get("ldap")),
        )  # fmt: skip


#: ``ldap_scope`` as Harbor numbers it (0 base, 1 one level, 2 subtree) or by name.
_LDAP_SCOPES = {"0": "base", "1": "onelevel", "2": "subtree"}


def _ldap(section: Mapping[str, Any] | None) -> LdapConfig | None:
    """``auth.projects.ldap``: Harbor's ``ldap_*`` options without the prefix and without
    separators (``searchdn`` for ``ldap_search_dn``), so that each can come from the
    environment (``REGISTRY_AUTH_PROJECTS_LDAP_URL``)."""
    s = dict(section or {})
    if not s:
        return None
    key = "auth.projects.ldap"
    for needed in ("url", "basedn"):
        if not s.get(needed):
            raise InvalidArgument(
                f"{key} needs {needed}",
                hint=f"set {key}.{needed} (REGISTRY_AUTH_PROJECTS_LDAP_{needed.upper()})",
            )
    scope = str(s.get("scope", "subtree")).strip().lower()
    timeout = _duration(s["timeout"], f"{key}.timeout") if "timeout" in s else 5.0
    base = LdapConfig(url="ldap://unused", base_dn="unused")
    return LdapConfig(
        url=s["url"], base_dn=s["basedn"], search_dn=s.get("searchdn", ""),
        search_password=s.get("searchpassword", ""), uid=s.get("uid") or base.uid,
        filter=s.get("filter", ""), scope=_LDAP_SCOPES.get(scope, scope), timeout=timeout,
        verify_cert=s.get("verifycert", True), group_base_dn=s.get("groupbasedn", ""),
        group_filter=s.get("groupfilter") or base.group_filter,
        group_membership_attribute=s.get("groupmembershipattribute")
        or base.group_membership_attribute,
        group_admin_dn=s.get("groupadmindn", ""),
    )  # fmt: skip
