"""STOPSIGNAL."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.dockerfile.instructions.base import Instruction

__all__ = ["StopsignalInstruction"]


@dataclass(frozen=True)
class StopsignalInstruction(Instruction):
    signal: str = ""
