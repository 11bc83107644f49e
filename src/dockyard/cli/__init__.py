"""The ``dockyard`` command line: a thin layer over the library."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    # a rebuild with nothing changed is answered before click and the builder load
    if "build" in sys.argv[1:4]:
        from dockyard.build._noop import serve

        code = serve(sys.argv[1:])
        if code is not None:
            sys.stdout.flush()
            sys.stderr.flush()
            sys.exit(code)
    from dockyard.cli._main import main as run

    run()
