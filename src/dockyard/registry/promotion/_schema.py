"""The promotion policies' table (SQLAlchemy Core, its own MetaData) in the registry's database.

A row belongs to a project by id *and* name, so that a project deleted and created again under
the same name (or given the same id) does not inherit rules it never set.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text

__all__ = ["metadata", "promotion_policies"]

metadata = MetaData()

promotion_policies = Table(
    "promotion_policies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_id", Integer, nullable=False),
    Column("project", String(255), nullable=False),
    #: JSON list of tag names or patterns (``prod``, ``release-*``)
    Column("tags", Text, nullable=False),
    #: JSON of the gates (see :mod:`dockyard.registry.promotion._requirements`)
    Column("require", Text, nullable=False),
    Column("creation_time", Float, nullable=False),
    Column("update_time", Float, nullable=False),
    Index("ix_promotion_policies_project", "project_id"),
)
