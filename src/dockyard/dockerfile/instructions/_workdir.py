"""WORKDIR."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.dockerfile.instructions._base import Instruction

__all__ = ["WorkdirInstruction"]


@dataclass(frozen=True)
class WorkdirInstruction(Instruction):
    path: str = ""
