"""ONBUILD."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.dockerfile.instructions.base import Instruction

__all__ = ["OnbuildInstruction"]


@dataclass(frozen=True)
class OnbuildInstruction(Instruction):
    """``expression`` is what goes into the image's OnBuild list."""

    expression: str = ""
    trigger: Instruction | None = None
