"""Scan leases: the process running a pending scan, until when, and how often it was claimed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("scan_reports")}
    with op.batch_alter_table("scan_reports") as batch:
        if "lease_owner" not in columns:
            batch.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        if "lease_until" not in columns:
            batch.add_column(sa.Column("lease_until", sa.Float(), nullable=True))
        if "attempts" not in columns:
            batch.add_column(
                sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0"))
            )


def downgrade() -> None:
    with op.batch_alter_table("scan_reports") as batch:
        batch.drop_column("attempts")
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
