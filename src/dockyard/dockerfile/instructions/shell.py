"""SHELL."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.dockerfile.instructions.base import Instruction

__all__ = ["ShellInstruction"]


@dataclass(frozen=True)
class ShellInstruction(Instruction):
    shell: tuple[str, ...] = ()
