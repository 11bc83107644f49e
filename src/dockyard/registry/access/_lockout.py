"""Brute-force protection: failed logins counted per client address and per user name.

In a sliding ``window``, once a key has ``delay_after`` failures each further attempt waits
``delay`` seconds first; once it has ``refuse_after`` failures, attempts are refused with
:class:`~dockyard.errors.TooManyRequests` (429, ``retry_after`` = seconds until the oldest
counted failure leaves the window) without checking the credentials. A success clears the
address and the name.

The failures are rows of the registry's database (``access_login_failures``), so every worker
process, and every registry process sharing the database, counts the same attempts: ``workers:
4`` does not give an attacker four times the tries. The table is bounded: a key keeps at most
``refuse_after`` rows, rows older than the window go at each failure, and at most
``max_entries`` rows are kept in all (the oldest go first). A login with nothing counted
against it costs one indexed read and no write.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from dockyard.errors import InvalidArgument, TooManyRequests
from dockyard.registry.access._schema import login_failures, new_id
from dockyard.registry.metadata import Database

__all__ = ["Lockout", "LockoutPolicy"]


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    delay_after: int = 5
    refuse_after: int = 10
    window: float = 900.0
    delay: float = 1.0
    #: failure rows kept in all (the oldest go first)
    max_entries: int = 10_000

    def __post_init__(self) -> None:
        if not 1 <= self.refuse_after <= 10_000 or not self.delay_after >= 1:
            raise InvalidArgument("lockout thresholds must be at least 1 (refuse_after ≤ 10000)")
        if self.delay_after > self.refuse_after:
            raise InvalidArgument(
                f"lockout delay_after ({self.delay_after}) must not exceed refuse_after "
                f"({self.refuse_after})"
            )
        if self.window <= 0 or not 0 <= self.delay <= 60 or self.max_entries < 1:
            raise InvalidArgument(
                "lockout window must be positive, delay 0 to 60 seconds, max_entries ≥ 1"
            )


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a login attempt stands: seconds to wait first, and whether anything is counted
    against its address or name (only then does a success need to clear them)."""

    delay: float
    counted: bool


class Lockout:
    def __init__(self, policy: LockoutPolicy, *, clock: Callable[[], float], db: Database) -> None:
        self.policy = policy
        self._clock = clock
        self._db = db
        login_failures.create(db.engine, checkfirst=True)

    @staticmethod
    def keys(client_ip: str, username: str) -> tuple[str, ...]:
        return (f"ip:{client_ip}"[:330], f"user:{username}"[:330])

    def _counts(self, keys: tuple[str, ...], now: float) -> dict[str, tuple[int, float]]:
        """key → (failures in the window, the oldest one's time), for keys with failures."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(login_failures.c.key, func.count(), func.min(login_failures.c.at))
                .where(
                    login_failures.c.key.in_(keys),
                    login_failures.c.at > now - self.policy.window,
                )
                .group_by(login_failures.c.key)
            ).all()
        return {str(key): (int(count), float(oldest)) for key, count, oldest in rows}

    def standing(self, client_ip: str, username: str) -> Standing:
        """The wait before checking these credentials; TooManyRequests when the address or the
        name is locked out."""
        now = self._clock()
        counts = self._counts(self.keys(client_ip, username), now)
        delay = 0.0
        for key, (count, oldest) in counts.items():
            if count >= self.policy.refuse_after:
                retry = max(1, math.ceil(oldest + self.policy.window - now))
                what = "this address" if key.startswith("ip:") else "this user"
                raise TooManyRequests(
                    f"too many failed logins for {what}: try again in {retry} seconds",
                    retry_after=retry,
                    hint="wait, then log in with the right credentials",
                )
            if count >= self.policy.delay_after:
                delay = self.policy.delay
        return Standing(delay, bool(counts))

    def check(self, client_ip: str, username: str) -> float:
        """Seconds to wait before checking these credentials (0: none); TooManyRequests when
        the address or the name is locked out."""
        return self.standing(client_ip, username).delay

    def fail(self, client_ip: str, username: str) -> list[tuple[str, int]]:
        """Count a failure; returns the (key, failures) that have just become locked out."""
        now = self._clock()
        policy = self.policy
        locked: list[tuple[str, int]] = []
        table = login_failures
        with self._db.write() as conn:
            conn.execute(table.delete().where(table.c.at <= now - policy.window))
            last = 0
            for key in self.keys(client_ip, username):
                last = new_id(conn.execute(table.insert().values(key=key, at=now)))
                ids = conn.execute(
                    select(table.c.id)
                    .where(table.c.key == key)
                    .order_by(table.c.at.desc(), table.c.id.desc())
                ).scalars()
                kept = list(ids)
                if len(kept) > policy.refuse_after:  # a key keeps its newest failures only
                    conn.execute(table.delete().where(table.c.id.in_(kept[policy.refuse_after :])))
                if len(kept) == policy.refuse_after:
                    locked.append((key, len(kept)))
            # ids only grow: those below the newest max_entries are the oldest rows
            conn.execute(table.delete().where(table.c.id <= last - policy.max_entries))
        return locked

    def succeed(self, client_ip: str, username: str) -> None:
        """Clear the address and the name."""
        with self._db.write() as conn:
            conn.execute(
                login_failures.delete().where(
                    login_failures.c.key.in_(self.keys(client_ip, username))
                )
            )

    def __len__(self) -> int:
        """The failure rows kept."""
        with self._db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(login_failures)).scalar_one())
