"""Records about stored content — tags, images, labels, leases — in SQLite."""

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
