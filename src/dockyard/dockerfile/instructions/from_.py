"""FROM."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.dockerfile.instructions.base import Instruction

__all__ = ["FromInstruction"]


@dataclass(frozen=True)
class FromInstruction(Instruction):
    base_name: str
    stage_name: str = ""
    platform: str = ""
