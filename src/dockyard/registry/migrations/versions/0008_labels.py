"""Harbor's labels: ``labels`` (global labels, and project labels that go with their project)
and ``artifact_labels`` (a label attached to an artifact, going with either).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "labels" not in existing:
        op.create_table(
            "labels",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("name", sa.String(length=128), nullable=False),
            sa.Column("description", sa.String(length=1024), nullable=False),
            sa.Column("color", sa.String(length=64), nullable=False),
            sa.Column("scope", sa.String(length=1), nullable=False),
            sa.Column("project_id", sa.Integer(), nullable=True),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(["project_id"], ["access_projects.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("name", "scope", "project_id", name="uq_labels_name_scope_project"),
        )
    if "artifact_labels" not in existing:
        op.create_table(
            "artifact_labels",
            sa.Column("label_id", sa.Integer(), nullable=False),
            sa.Column("manifest_id", sa.Integer(), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(["label_id"], ["labels.id"], ondelete="CASCADE"),
            sa.ForeignKeyConstraint(["manifest_id"], ["manifests.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("label_id", "manifest_id", name="pk_artifact_labels"),
        )
        op.create_index(
            "ix_artifact_labels_manifest", "artifact_labels", ["manifest_id"], unique=False
        )


def downgrade() -> None:
    op.drop_index("ix_artifact_labels_manifest", table_name="artifact_labels")
    op.drop_table("artifact_labels")
    op.drop_table("labels")
