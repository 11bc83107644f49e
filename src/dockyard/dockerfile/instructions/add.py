"""ADD: COPY with remote sources, checksums and archive unpacking."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.dockerfile.instructions.copy import CopyInstruction

__all__ = ["AddInstruction"]


@dataclass(frozen=True)
class AddInstruction(CopyInstruction):
    checksum: str = ""
    keep_git_dir: bool = False
    unpack: bool | None = None
