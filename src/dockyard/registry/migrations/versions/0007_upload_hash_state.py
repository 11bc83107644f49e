"""``uploads`` gains ``hash_state``: the running SHA-256 of a session's acknowledged bytes, so
that its next request (a PATCH, the closing PUT) may go on in any process — another worker,
another replica — without reading the bytes back from storage. Sessions from before the upgrade
have none and are hashed again from storage, as before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("uploads")}
    if "hash_state" not in columns:
        with op.batch_alter_table("uploads") as batch:
            batch.add_column(sa.Column("hash_state", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("hash_state")
