"""Helpers for the access model's tests: a service over a real SQLite file, a settable clock,
and a directory that knows a few people (standing in for LDAP where LDAP is not the subject)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dockyard.registry.access import AccessConfig, AccessService, LockoutPolicy
from dockyard.registry.metadata import Database

__all__ = [
    "PASSWORD",
    "Clock",
    "StaticDirectory",
    "StaticEntry",
    "access_database",
    "access_service",
]

#: A password that passes Harbor's rule (upper, lower, digit, 8+).
PASSWORD = "Secret123"
#: The kinds of database the access model is tested against: the registry's own SQLite engine
#: (WAL, foreign keys on) and a plain SQLAlchemy URL (no pragmas: foreign keys off).
DATABASE_KINDS = ("registry-sqlite", "sqlite-url")


class Clock:
    """Time that moves only when told to (epoch seconds)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        """Record a wait and let the time pass (what the service would have slept)."""
        self.slept.append(seconds)
        self.now += seconds


def access_database(tmp_path: Path, kind: str = "registry-sqlite") -> Database:
    path = tmp_path / "registry.db"
    return Database(path if kind == "registry-sqlite" else f"sqlite:///{path}")


def access_service(
    db: Database,
    clock: Clock,
    *,
    lockout: LockoutPolicy | None = None,
    audit_max_rows: int = 1_000_000,
    directory: StaticDirectory | None = None,
) -> AccessService:
    config = AccessConfig(
        password_cost=4,
        lockout=lockout or LockoutPolicy(delay_after=3, refuse_after=5, window=60.0, delay=1.0),
        audit_max_rows=audit_max_rows,
    )
    return AccessService(db, config, directory=directory, clock=clock, sleep=clock.sleep)


@dataclass(frozen=True, slots=True)
class StaticEntry:
    username: str
    email: str
    realname: str
    groups: tuple[str, ...]
    admin: bool = False


@dataclass
class StaticDirectory:
    """People with passwords and groups: what a directory answers, without a server."""

    people: dict[str, tuple[str, StaticEntry]] = field(default_factory=dict)
    calls: int = 0

    def add(self, username: str, password: str, *groups: str, admin: bool = False) -> None:
        entry = StaticEntry(username, f"{username}@example.org", username.title(), groups, admin)
        self.people[username] = (password, entry)

    def authenticate(self, username: str, password: str) -> StaticEntry | None:
        self.calls += 1
        found = self.people.get(username)
        if found is None or found[0] != password:
            return None
        return found[1]
