"""Retries with backoff: the wait after a failed attempt doubles with each attempt, up to a
ceiling, scaled by a random factor in [0.5, 1] (jitter, so that many tasks failing against a
target that was down do not all return at once)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["next_wait", "retry_delay"]


def retry_delay(backoff: float, attempt: int, jitter: float, max_wait: float) -> float:
    """The wait after failed attempt number ``attempt`` (1-based): ``backoff * 2**(attempt-1)``
    seconds, at most ``max_wait``, times ``0.5 + jitter / 2`` (``jitter`` in [0, 1])."""
    return float(min(max_wait, backoff * 2.0 ** min(attempt - 1, 64)) * (0.5 + jitter / 2))


def next_wait(
    attempt: int,
    max_attempts: int,
    backoff: float,
    jitter: Callable[[], float],
    max_wait: float,
) -> float | None:
    """The wait before the next attempt after failed attempt ``attempt`` (1-based), with a
    factor drawn from ``jitter`` (the random source: drawn only when there is a next
    attempt); None when it was the last of ``max_attempts``."""
    if attempt >= max_attempts:
        return None
    return retry_delay(backoff, attempt, jitter(), max_wait)
