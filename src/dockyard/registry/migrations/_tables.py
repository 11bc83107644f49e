"""Every table of the registry's database, from every feature's schema, in one MetaData.

A feature that adds a table adds its schema module here and a migration script that creates
it; ``tests/registry/migrations/test_migrations_scripts.py`` compares the two on both engines.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import MetaData

from dockyard.registry.access import _schema as access
from dockyard.registry.console import _sessions as console
from dockyard.registry.gcjobs import _schema as gcjobs
from dockyard.registry.harbor import _descriptions as harbor
from dockyard.registry.immutability import _schema as immutability
from dockyard.registry.labels import _schema as labels
from dockyard.registry.metadata import _schema as registry
from dockyard.registry.promotion import _schema as promotion
from dockyard.registry.replication import _schema as replication
from dockyard.registry.retention import _schema as retention
from dockyard.registry.scanning import _records as scanning
from dockyard.registry.webhooks import _schema as webhooks

__all__ = ["schema"]


@cache
def schema() -> MetaData:
    """One MetaData holding a copy of every table (foreign keys resolved within it)."""

    parts = (
        registry.metadata,
        access.metadata,
        immutability.metadata,
        retention.metadata,
        webhooks.metadata,
        promotion.metadata,
        gcjobs.metadata,
        harbor._metadata,
        scanning._metadata,
        console._meta,
        replication.metadata,
        labels.metadata,
    )
    combined = MetaData()
    for part in parts:
        for table in part.sorted_tables:
            if table.name not in combined.tables:
                table.to_metadata(combined)
    return combined
