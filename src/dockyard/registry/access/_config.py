"""The ``auth.projects`` section: the access model's settings (``REGISTRY_AUTH=projects``).

::

    auth:
      projects:
        realm: dockyard            # the Basic realm named in challenges
        passwordcost: 10           # bcrypt cost of new password hashes (4-17)
        tokenexpiration: 30m       # lifetime of the registry tokens it grants (Harbor: 30m)
        lockout: {delayafter: 5, refuseafter: 10, window: 15m, delay: 1s, maxentries: 10000}
        audit: {retention: 2160h, maxrows: 1000000}   # retention 0: keep until maxrows
        ldap: …                    # not supported yet: start-up stops

Keys are spelt without separators, as registry:2's, so that every one can also be set from
the environment (``REGISTRY_AUTH_PROJECTS_LOCKOUT_REFUSEAFTER=20``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.registry.access._lockout import LockoutPolicy
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
        )  # fmt: skip
