"""Harbor's scan-all: its runs (``scan_executions``, whose tasks are ``scan_tasks`` rows with
the run's id) and its one schedule (``scan_all_schedule``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "scan_executions" not in existing:
        op.create_table(
            "scan_executions",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("trigger", sa.String(length=16), nullable=False),
            sa.Column("start_time", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    if "scan_all_schedule" not in existing:
        op.create_table(
            "scan_all_schedule",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("type", sa.String(length=16), nullable=False),
            sa.Column("cron", sa.String(length=128), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.Column("fired_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )


def downgrade() -> None:
    op.drop_table("scan_all_schedule")
    op.drop_table("scan_executions")
