"""HEALTHCHECK."""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.dockerfile.instructions.base import Instruction

__all__ = ["Healthcheck", "HealthcheckInstruction"]


@dataclass(frozen=True)
class Healthcheck:
    """Docker's HealthConfig; durations in nanoseconds, 0 meaning "not set"."""

    test: tuple[str, ...]
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"Test": list(self.test)}
        for key, value in (
            ("Interval", self.interval),
            ("Timeout", self.timeout),
            ("StartPeriod", self.start_period),
            ("StartInterval", self.start_interval),
            ("Retries", self.retries),
        ):
            if value:
                out[key] = value
        return out


@dataclass(frozen=True)
class HealthcheckInstruction(Instruction):
    health: Healthcheck = field(default_factory=lambda: Healthcheck(("NONE",)))
