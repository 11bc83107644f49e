"""The local store's files read with nothing but :mod:`os` and SQLite: where they are
(:mod:`~dockyard.storefiles.paths`), the read-only questions to its metadata database
(:mod:`~dockyard.storefiles.lookup`); the public module :mod:`dockyard.storefiles.names` has
the full names its tags are kept by (``dockyard run``'s, not loaded by the no-op rebuild).

The no-op rebuild asks these before anything else of dockyard loads, so this package stays out
of :mod:`dockyard.local` and :mod:`dockyard.metadata` (whose ``__init__`` loads the whole store)
and imports nothing of dockyard: :class:`dockyard.local.LocalStore` and
:class:`dockyard.metadata.MetadataStore` follow the same rules and schema.
"""

from dockyard.storefiles.lookup import Error, image_recorded, open_read_only, tag_targets
from dockyard.storefiles.paths import DB_FILE, blob_file, db_file, root_dir

__all__ = [
    "DB_FILE",
    "Error",
    "blob_file",
    "db_file",
    "image_recorded",
    "open_read_only",
    "root_dir",
    "tag_targets",
]
