"""VOLUME."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.dockerfile.instructions.base import Instruction

__all__ = ["VolumeInstruction"]


@dataclass(frozen=True)
class VolumeInstruction(Instruction):
    volumes: tuple[str, ...] = ()
