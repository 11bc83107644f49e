"""What every instruction has: the keyword, the logical line, where it was written."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Instruction", "Location"]


@dataclass(frozen=True)
class Location:
    file: str = "Dockerfile"
    start_line: int = 0
    end_line: int = 0


@dataclass(frozen=True)
class Instruction:
    """Common to all: the keyword (upper case), the logical line, where it was written."""

    original: str = field(default="", kw_only=True)
    location: Location = field(default_factory=Location, kw_only=True)

    @property
    def name(self) -> str:
        return type(self).__name__.removesuffix("Instruction").upper()
