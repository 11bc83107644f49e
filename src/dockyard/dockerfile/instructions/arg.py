"""ARG."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.dockerfile.instructions.base import Instruction

__all__ = ["ArgInstruction", "ArgSpec"]


@dataclass(frozen=True)
class ArgSpec:
    key: str
    value: str | None = None

    def __str__(self) -> str:
        return self.key if self.value is None else f"{self.key}={self.value}"


@dataclass(frozen=True)
class ArgInstruction(Instruction):
    args: tuple[ArgSpec, ...] = ()
