"""EXPOSE."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.dockerfile.instructions.base import Instruction

__all__ = ["ExposeInstruction"]


@dataclass(frozen=True)
class ExposeInstruction(Instruction):
    ports: tuple[str, ...] = ()
