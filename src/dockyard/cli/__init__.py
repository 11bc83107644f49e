"""The ``dockyard`` command line: a thin layer over the library."""

from __future__ import annotations

import os
import sys

__all__ = ["main"]


def main() -> None:
    if "build" in sys.argv[1:4]:
        _build(sys.argv[1:])
    from dockyard.cli._main import main as run

    run()


def _build(argv: list[str]) -> None:
    """``dockyard build`` before click loads: a rebuild with nothing changed is answered from
    its no-op record; any other plain invocation builds without click; help, errors and
    unusual spellings return to click. tests/test_import_budget.py holds what these paths
    may import."""
    from dockyard.builder._noop import serve

    code = serve(argv)
    if code is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.exit(code)
    from dockyard.builder._argv import parse

    parsed = parse(argv, os.environ)
    if parsed is None:
        return
    root, params = parsed
    from pathlib import Path

    from dockyard.cli._build_run import run_build
    from dockyard.cli._failure import report
    from dockyard.errors import DockyardError
    from dockyard.local import LocalStore

    try:
        run_build(LocalStore.open(Path(root) if root else None), params)
        code = 0
    except (DockyardError, OSError) as exc:
        code = report(exc)
    except KeyboardInterrupt:
        sys.stderr.write("\nAborted.\n")
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = code or 141
    os._exit(code)  # like exit_without_teardown: results are written and synced
