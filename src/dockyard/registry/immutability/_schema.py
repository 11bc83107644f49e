"""The immutability rules' table (SQLAlchemy Core, its own MetaData) in the registry's database.

A rule belongs to an access-model project and goes with it (``ON DELETE CASCADE``). Its
selectors are kept as Harbor keeps them, one JSON text (``tag_filter``), unique per project.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)

from dockyard.registry.access._schema import projects

__all__ = ["immutable_rules", "metadata"]

metadata = MetaData()

immutable_rules = Table(
    "immutable_tag_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_id", Integer, ForeignKey(projects.c.id, ondelete="CASCADE"), nullable=False),
    Column("tag_filter", Text, nullable=False),
    Column("priority", Integer, nullable=False, default=0),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("project_id", "tag_filter", name="uq_immutable_tag_rules"),
)
