"""How a failed command ends: docker's ``Error: …`` on stderr and its exit code."""

from __future__ import annotations

import sys

from dockyard.errors import DockyardError

__all__ = ["report"]


def report(exc: DockyardError | OSError) -> int:
    """Print ``exc`` as docker prints errors and return the exit code to leave with: the
    error's own code, 141 for a closed pipe, 1 for a file the user named (missing, a
    directory, no permission, disk full)."""
    if isinstance(exc, DockyardError):
        sys.stderr.write(f"Error: {exc}\n")
        return exc.exit_code
    if isinstance(exc, BrokenPipeError):
        return 141
    where = f"{exc.filename}: " if exc.filename else ""
    sys.stderr.write(f"Error: {where}{exc.strerror or exc}\n")
    return 1
