"""Records about stored content — tags, images, labels, leases — in SQLite.

Names load their module on first use, so that :mod:`dockyard.metadata.lookup` (the read-only
questions the no-op rebuild asks before anything else loads) costs nothing more.
"""

from dockyard._lazy import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
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

_WHERE = {
    "SCHEMA_VERSION": "_schema",
    "Database": "_db",
    "ImageRecord": "_records",
    "LeaseRecord": "_records",
    "MetadataStore": "_store",
    "TagRecord": "_records",
}

__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
