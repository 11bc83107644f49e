"""How long the fuzz suites run: a fixed, small budget in CI; more with DOCKYARD_FUZZ_EXAMPLES.

Every suite is derandomised (the same examples on every run, so a CI failure reproduces), and
``DOCKYARD_FUZZ_EXAMPLES=N`` multiplies the budget for a long local run; with
``DOCKYARD_FUZZ_SEED=S`` the run explores from seed S instead (reported on failure).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, seed, settings

__all__ = ["EXAMPLES_ENV", "SEED_ENV", "budget", "fuzz_settings"]

EXAMPLES_ENV = "DOCKYARD_FUZZ_EXAMPLES"
SEED_ENV = "DOCKYARD_FUZZ_SEED"
#: The examples every suite is written for; DOCKYARD_FUZZ_EXAMPLES scales a suite's own count.
_BASE = 100

F = TypeVar("F", bound=Callable[..., Any])


def budget(examples: int) -> int:
    """``examples`` in CI; scaled by DOCKYARD_FUZZ_EXAMPLES / 100 when that is set (at least
    the CI count, so a long run never tests less)."""
    text = os.environ.get(EXAMPLES_ENV, "").strip()
    if not text:
        return examples
    if not text.isdigit() or int(text) == 0:
        raise ValueError(f"{EXAMPLES_ENV}={text!r}: give a positive number of examples, e.g. 2000")
    return max(examples, examples * int(text) // _BASE)


def fuzz_settings(examples: int, *, deadline_ms: float | None = 10_000) -> Callable[[F], F]:
    """Hypothesis settings (and the seed) for one property: ``examples`` in CI, derandomised.

    ``deadline_ms`` bounds each example: generous (CI's 2 cores are shared and busy), yet far
    below anything a hang would take.
    """
    chosen = os.environ.get(SEED_ENV, "").strip()
    base = settings(
        max_examples=budget(examples),
        derandomize=not chosen,
        database=None,
        deadline=deadline_ms,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )

    def apply(fn: F) -> F:
        out: Any = base(fn)
        if chosen:
            out = seed(int(chosen))(out)
        return out  # type: ignore[no-any-return]

    return apply
