"""Where the local store keeps its files, as plain strings.

Only :mod:`os` is loaded here: the no-op rebuild asks these before anything else of dockyard
loads. :func:`dockyard.local.default_root` and :class:`dockyard.local.LocalStore` use the same
rules.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing is not loaded on the no-op path (docs/architecture.md)
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DB_FILE", "blob_file", "db_file", "root_dir"]

#: the metadata database (tags, image records, labels, leases), in the store's root
DB_FILE = "dockyard.db"


def root_dir(env: Mapping[str, str] | None = None) -> str:
    """The store's root when nobody names one: ``$DOCKYARD_ROOT``, else
    ``$XDG_DATA_HOME/dockyard``, else ``~/.local/share/dockyard`` (``env``: the environment
    to read, default ``os.environ``)."""
    env = os.environ if env is None else env
    if root := env.get("DOCKYARD_ROOT"):
        return root
    if data_home := env.get("XDG_DATA_HOME"):
        return os.path.join(data_home, "dockyard")
    home = env.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, ".local", "share", "dockyard")


def db_file(root: str) -> str:
    """The metadata database of the store at ``root``."""
    return os.path.join(root, DB_FILE)


def blob_file(root: str, digest: str) -> str:
    """The file of blob ``digest`` (``sha256:<hex>``) in the store at ``root`` (an OCI image
    layout: ``blobs/<algorithm>/<hex>``)."""
    algorithm, _, encoded = digest.partition(":")
    return os.path.join(root, "blobs", algorithm, encoded)
