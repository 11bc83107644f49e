"""libtorrent, imported on first use with an error that says how to install it."""

from __future__ import annotations

from types import ModuleType

from dockyard.errors import Unsupported

__all__ = ["libtorrent"]


def libtorrent() -> ModuleType:
    try:
        import libtorrent as lt
    except ImportError as exc:
        raise Unsupported(
            f"peer-to-peer pulls need libtorrent 2 (importing it failed: {exc})",
            hint="install the p2p extra: pip install 'dockyard[p2p]'",
        ) from None
    return lt
