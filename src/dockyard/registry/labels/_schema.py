"""Harbor's labels in the registry's database (SQLAlchemy Core, their own MetaData).

``labels`` holds global labels (scope ``g``, no project) and project labels (scope ``p``,
going with their access-model project: ``ON DELETE CASCADE``); ``artifact_labels`` attaches a
label to an artifact, a row of ``manifests`` (one repository's manifest), and goes with
either of them.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from dockyard.registry.access._schema import projects
from dockyard.registry.metadata._schema import manifests

__all__ = ["artifact_labels", "labels", "metadata"]

metadata = MetaData()

#: Harbor's longest label name.
MAX_NAME = 128
MAX_DESCRIPTION = 1024
MAX_COLOR = 64

labels = Table(
    "labels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(MAX_NAME), nullable=False),
    Column("description", String(MAX_DESCRIPTION), nullable=False, default=""),
    Column("color", String(MAX_COLOR), nullable=False, default=""),
    #: "g" (global) or "p" (project)
    Column("scope", String(1), nullable=False),
    Column("project_id", Integer, ForeignKey(projects.c.id, ondelete="CASCADE")),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("name", "scope", "project_id", name="uq_labels_name_scope_project"),
)

artifact_labels = Table(
    "artifact_labels",
    metadata,
    Column("label_id", Integer, ForeignKey(labels.c.id, ondelete="CASCADE"), nullable=False),
    Column("manifest_id", Integer, ForeignKey(manifests.c.id, ondelete="CASCADE"), nullable=False),
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("label_id", "manifest_id", name="pk_artifact_labels"),
    Index("ix_artifact_labels_manifest", "manifest_id"),
)
