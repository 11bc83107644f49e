"""MAINTAINER."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.dockerfile.instructions.base import Instruction

__all__ = ["MaintainerInstruction"]


@dataclass(frozen=True)
class MaintainerInstruction(Instruction):
    maintainer: str = ""
