"""CMD and ENTRYPOINT."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.dockerfile.instructions.shell_form import ShellDependent

__all__ = ["CmdInstruction", "EntrypointInstruction"]


@dataclass(frozen=True)
class CmdInstruction(ShellDependent):
    pass


@dataclass(frozen=True)
class EntrypointInstruction(ShellDependent):
    pass
