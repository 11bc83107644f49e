"""What RUN, CMD and ENTRYPOINT share: the command in exec or shell form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockyard.dockerfile.instructions.base import Instruction

if TYPE_CHECKING:
    from dockyard.dockerfile.parser import Heredoc

__all__ = ["ShellDependent"]


@dataclass(frozen=True)
class ShellDependent(Instruction):
    """RUN/CMD/ENTRYPOINT: ``cmd`` is the JSON array, or one string for the shell form."""

    cmd: tuple[str, ...] = ()
    prepend_shell: bool = False
    heredocs: tuple[Heredoc, ...] = ()
