"""``webhook_tasks`` gains ``endpoint`` (the registry:2 notification endpoint a delivery is
for, "" for a webhook policy's) and ``events`` (how many events its payload carries), from
which ``registry_notifications_pending_total`` is counted. Deliveries queued before the
upgrade have no endpoint name ("") and count as one event each.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("webhook_tasks")}
    with op.batch_alter_table("webhook_tasks") as batch:
        if "endpoint" not in columns:
            batch.add_column(
                sa.Column("endpoint", sa.String(length=255), nullable=False, server_default="")
            )
        if "events" not in columns:
            batch.add_column(
                sa.Column("events", sa.Integer(), nullable=False, server_default=sa.text("1"))
            )


def downgrade() -> None:
    with op.batch_alter_table("webhook_tasks") as batch:
        batch.drop_column("events")
        batch.drop_column("endpoint")
