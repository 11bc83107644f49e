"""ENV and LABEL: key=value pairs."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.dockerfile.instructions.base import Instruction

__all__ = ["EnvInstruction", "KeyValue", "LabelInstruction"]


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: str
    no_delim: bool = False

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


@dataclass(frozen=True)
class EnvInstruction(Instruction):
    pairs: tuple[KeyValue, ...] = ()


@dataclass(frozen=True)
class LabelInstruction(Instruction):
    pairs: tuple[KeyValue, ...] = ()
