"""WORKDIR."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.dockerfile.instructions.base import Instruction

__all__ = ["WorkdirInstruction"]


@dataclass(frozen=True)
class WorkdirInstruction(Instruction):
    path: str = ""
