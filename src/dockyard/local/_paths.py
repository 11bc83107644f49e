"""Where the local store lives when nobody says."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_root"]


def default_root() -> Path:
    """``$DOCKYARD_ROOT``, else ``$XDG_DATA_HOME/dockyard``, else ``~/.local/share/dockyard``."""
    if root := os.environ.get("DOCKYARD_ROOT"):
        return Path(root)
    if data_home := os.environ.get("XDG_DATA_HOME"):
        return Path(data_home) / "dockyard"
    return Path.home() / ".local" / "share" / "dockyard"
