"""The registry's metadata in SQL: repositories, manifests, tags, blob links, uploads."""

from dockyard.registry.metadata._engine import Database
from dockyard.registry.metadata._gc import GCQueries
from dockyard.registry.metadata._integrity import IntegrityQueries
from dockyard.registry.metadata._records import (
    ManifestRecord,
    NewManifest,
    ReferrerRecord,
    UploadRecord,
)
from dockyard.registry.metadata._store import RegistryMetadata

__all__ = [
    "Database",
    "GCQueries",
    "IntegrityQueries",
    "ManifestRecord",
    "NewManifest",
    "ReferrerRecord",
    "RegistryMetadata",
    "UploadRecord",
]
