"""USER."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.dockerfile.instructions.base import Instruction

__all__ = ["UserInstruction"]


@dataclass(frozen=True)
class UserInstruction(Instruction):
    user: str = ""
