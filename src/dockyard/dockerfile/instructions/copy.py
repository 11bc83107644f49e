"""COPY (ADD extends it in :mod:`._add`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockyard.dockerfile.instructions.base import Instruction

if TYPE_CHECKING:
    from dockyard.dockerfile.instructions.content import SourceContent

__all__ = ["CopyInstruction"]


@dataclass(frozen=True)
class CopyInstruction(Instruction):
    """COPY (and, via :class:`AddInstruction`, ADD): sources, heredoc contents, destination."""

    sources: tuple[str, ...] = ()
    contents: tuple[SourceContent, ...] = ()
    dest: str = ""
    from_: str = ""
    chown: str = ""
    chmod: str = ""
    link: bool = False
    parents: bool = False
    exclude: tuple[str, ...] = ()
