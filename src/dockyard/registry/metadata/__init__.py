"""The registry's metadata in SQL: repositories, manifests, tags, blob links, uploads."""

from dockyard.registry.metadata._engine import WRITE_LOCK, Database
from dockyard.registry.metadata._gc import GCQueries
from dockyard.registry.metadata._integrity import IntegrityQueries
from dockyard.registry.metadata._inventory import (
    ArtifactQuery,
    ArtifactRow,
    Inventory,
    RepositoryQuery,
    RepositoryRow,
    TagQuery,
    TagRow,
)
from dockyard.registry.metadata._per_database import one_per_database
from dockyard.registry.metadata._records import (
    ManifestRecord,
    NewManifest,
    ReferrerRecord,
    UploadRecord,
)
from dockyard.registry.metadata._settings import DatabaseSettings, engine_url
from dockyard.registry.metadata._store import RegistryMetadata

__all__ = [
    "WRITE_LOCK",
    "ArtifactQuery",
    "ArtifactRow",
    "Database",
    "DatabaseSettings",
    "GCQueries",
    "IntegrityQueries",
    "Inventory",
    "ManifestRecord",
    "NewManifest",
    "ReferrerRecord",
    "RegistryMetadata",
    "RepositoryQuery",
    "RepositoryRow",
    "TagQuery",
    "TagRow",
    "UploadRecord",
    "engine_url",
    "one_per_database",
]
