"""The ``dockyard`` command line: a thin layer over the library."""

from __future__ import annotations

import sys

__all__ = ["argv", "main"]

#: this process's command line (the arguments after ``dockyard``) once :func:`main` runs it; a
#: build's no-op record is keyed on it, so only a build run from a command line leaves one
argv: list[str] | None = None


def main() -> None:
    global argv
    argv = sys.argv[1:]
    if "build" in argv[:3]:
        _noop_build(argv)
    elif "run" in argv[:3]:
        _snapshot_run(argv)
    from dockyard.cli._main import main as run

    run()


def _noop_build(args: list[str]) -> None:
    """``dockyard [--root R] build …`` before click loads: a rebuild with nothing changed is
    answered from its no-op record (and the process ends); anything else returns, to click.
    tests/test_import_budget.py holds what this path may import."""
    from dockyard.builder.cache.noop import serve

    code = serve(args)
    if code is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.exit(code)


def _snapshot_run(args: list[str]) -> None:
    """``dockyard [--root R] run …`` before click loads: a common ``run`` command line of an
    image whose snapshot exists runs here and the process ends with the container's status;
    anything else returns, to click (see :mod:`dockyard.cli._run_argv`)."""
    from dockyard.cli._run_argv import serve

    code = serve(args)
    if code is not None:
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # as the click command ends a run: the container's record is written
