"""Records about stored content — tags, images, labels, leases — in SQLite.

The read-only questions the no-op rebuild asks of the same database, before anything else
loads, are :mod:`dockyard.storefiles.lookup`'s.
"""

from dockyard.metadata._db import Database
from dockyard.metadata._records import ImageRecord, LeaseRecord, TagRecord
from dockyard.metadata._schema import SCHEMA_VERSION
from dockyard.metadata._store import MetadataStore

__all__ = [
    "SCHEMA_VERSION",
    "Database",
    "ImageRecord",
    "LeaseRecord",
    "MetadataStore",
    "TagRecord",
]
