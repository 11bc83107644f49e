"""The ``dockyard`` command line: a thin layer over the library."""

from dockyard.cli._main import main

__all__ = ["main"]
