"""Replication: endpoint registries, policies, executions and the task queue.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "replication_registries" not in existing:
        op.create_table(
            "replication_registries",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("name", sa.String(length=255), nullable=False),
            sa.Column("description", sa.String(length=1024), nullable=False),
            sa.Column("type", sa.String(length=32), nullable=False),
            sa.Column("url", sa.String(length=2048), nullable=False),
            sa.Column("credential_type", sa.String(length=16), nullable=False),
            sa.Column("access_key", sa.String(length=255), nullable=False),
            sa.Column("access_secret", sa.String(length=4096), nullable=False),
            sa.Column("insecure", sa.Boolean(), nullable=False),
            sa.Column("creation_time", sa.Float(), nullable=False),
            sa.Column("update_time", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("name"),
        )
    if "replication_policies" not in existing:
        op.create_table(
            "replication_policies",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("name", sa.String(length=255), nullable=False),
            sa.Column("description", sa.String(length=1024), nullable=False),
            sa.Column("src_registry_id", sa.Integer(), nullable=False),
            sa.Column("dest_registry_id", sa.Integer(), nullable=False),
            sa.Column("dest_namespace", sa.String(length=255), nullable=False),
            sa.Column("dest_namespace_replace_count", sa.Integer(), nullable=False),
            sa.Column("filters", sa.Text(), nullable=False),
            sa.Column("trigger_type", sa.String(length=16), nullable=False),
            sa.Column("cron", sa.String(length=255), nullable=False),
            sa.Column("last_fire", sa.Float(), nullable=False),
            sa.Column("override", sa.Boolean(), nullable=False),
            sa.Column("enabled", sa.Boolean(), nullable=False),
            sa.Column("replicate_deletion", sa.Boolean(), nullable=False),
            sa.Column("speed", sa.Integer(), nullable=False),
            sa.Column("creator", sa.String(length=255), nullable=False),
            sa.Column("creation_time", sa.Float(), nullable=False),
            sa.Column("update_time", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("name"),
        )
    if "replication_executions" not in existing:
        op.create_table(
            "replication_executions",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("policy_id", sa.Integer(), nullable=False),
            sa.Column("trigger", sa.String(length=16), nullable=False),
            sa.Column("status_text", sa.String(length=1024), nullable=False),
            sa.Column("start_time", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            "ix_replication_executions_policy",
            "replication_executions",
            ["policy_id", "id"],
            unique=False,
        )
    if "replication_tasks" not in existing:
        op.create_table(
            "replication_tasks",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("execution_id", sa.Integer(), nullable=False),
            sa.Column("policy_id", sa.Integer(), nullable=False),
            sa.Column("operation", sa.String(length=16), nullable=False),
            sa.Column("src_repository", sa.String(length=255), nullable=False),
            sa.Column("src_reference", sa.String(length=255), nullable=False),
            sa.Column("dst_repository", sa.String(length=255), nullable=False),
            sa.Column("dst_tag", sa.String(length=255), nullable=False),
            sa.Column("max_attempts", sa.Integer(), nullable=False),
            sa.Column("backoff", sa.Float(), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("status_message", sa.String(length=1024), nullable=False),
            sa.Column("run_count", sa.Integer(), nullable=False),
            sa.Column("next_time", sa.Float(), nullable=False),
            sa.Column("lease_owner", sa.String(length=64), nullable=False),
            sa.Column("lease_until", sa.Float(), nullable=False),
            sa.Column("log", sa.Text(), nullable=False),
            sa.Column("creation_time", sa.Float(), nullable=False),
            sa.Column("update_time", sa.Float(), nullable=False),
            sa.Column("start_time", sa.Float(), nullable=False),
            sa.Column("end_time", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            "ix_replication_tasks_due", "replication_tasks", ["status", "next_time"], unique=False
        )
        op.create_index(
            "ix_replication_tasks_execution", "replication_tasks", ["execution_id"], unique=False
        )


def downgrade() -> None:
    for table in (
        "replication_tasks",
        "replication_executions",
        "replication_policies",
        "replication_registries",
    ):
        op.drop_table(table)
