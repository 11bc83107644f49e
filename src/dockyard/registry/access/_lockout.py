"""Brute-force protection: failed logins counted per client address and per user name.

In a sliding ``window``, once a key has ``delay_after`` failures each further attempt waits
``delay`` seconds first; once it has ``refuse_after`` failures, attempts are refused with
:class:`~dockyard.errors.TooManyRequests` (429, ``retry_after`` = seconds until the oldest
counted failure leaves the window) without checking the credentials. A success clears the
address and the name. Memory is bounded: at most ``max_entries`` keys, least recently used
forgotten first, and at most ``refuse_after`` timestamps per key. The state lives in the
process (each server worker counts on its own).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from dockyard.errors import InvalidArgument, TooManyRequests

__all__ = ["Lockout", "LockoutPolicy"]


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    delay_after: int = 5
    refuse_after: int = 10
    window: float = 900.0
    delay: float = 1.0
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


class Lockout:
    def __init__(self, policy: LockoutPolicy, *, clock: Callable[[], float]) -> None:
        self.policy = policy
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    @staticmethod
    def keys(client_ip: str, username: str) -> tuple[str, ...]:
        return (f"ip:{client_ip}", f"user:{username}")

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.policy.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def check(self, client_ip: str, username: str) -> float:
        """Seconds to wait before checking these credentials (0: none); TooManyRequests when
        the address or the name is locked out."""
        now = self._clock()
        delay = 0.0
        with self._lock:
            for key in self.keys(client_ip, username):
                times = self._recent(key, now)
                if len(times) >= self.policy.refuse_after:
                    retry = max(1, math.ceil(times[0] + self.policy.window - now))
                    what = "this address" if key.startswith("ip:") else "this user"
                    raise TooManyRequests(
                        f"too many failed logins for {what}: try again in {retry} seconds",
                        retry_after=retry,
                        hint="wait, then log in with the right credentials",
                    )
                if len(times) >= self.policy.delay_after:
                    delay = self.policy.delay
        return delay

    def fail(self, client_ip: str, username: str) -> list[tuple[str, int]]:
        """Count a failure; returns the (key, failures) that have just become locked out."""
        now = self._clock()
        locked: list[tuple[str, int]] = []
        with self._lock:
            for key in self.keys(client_ip, username):
                times = self._recent(key, now)
                if key not in self._failures:
                    self._failures[key] = times = deque(maxlen=self.policy.refuse_after)
                times.append(now)
                self._failures.move_to_end(key)
                if len(times) == self.policy.refuse_after:
                    locked.append((key, len(times)))
            while len(self._failures) > self.policy.max_entries:
                self._failures.popitem(last=False)
        return locked

    def succeed(self, client_ip: str, username: str) -> None:
        with self._lock:
            for key in self.keys(client_ip, username):
                self._failures.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._failures)
