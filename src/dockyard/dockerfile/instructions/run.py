"""RUN."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.dockerfile.instructions.shell_form import ShellDependent

__all__ = ["RunInstruction"]


@dataclass(frozen=True)
class RunInstruction(ShellDependent):
    mounts: tuple[str, ...] = ()
    network: str = ""
    security: str = ""
