"""Where the local store lives when nobody says."""

from __future__ import annotations

from pathlib import Path

from dockyard.storefiles import root_dir

__all__ = ["default_root"]


def default_root() -> Path:
    """``$DOCKYARD_ROOT``, else ``$XDG_DATA_HOME/dockyard``, else ``~/.local/share/dockyard``
    (:func:`dockyard.storefiles.root_dir`)."""
    return Path(root_dir())
