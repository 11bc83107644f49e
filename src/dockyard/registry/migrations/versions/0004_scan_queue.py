"""Scans on the registry's job queue: ``scan_tasks`` (one task per pending scan report, claimed
with a lease and its owner's liveness, as webhook deliveries and replication copies are);
``scan_reports`` loses its own lease columns (``lease_owner``, ``lease_until``, ``attempts``).
Reports pending at the upgrade are queued as tasks, due at once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_LEASES = ("lease_owner", "lease_until", "attempts")


def upgrade() -> None:
    bind = op.get_bind()
    if "scan_tasks" not in set(sa.inspect(bind).get_table_names()):
        op.create_table(
            "scan_tasks",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("execution_id", sa.Integer(), nullable=False),
            sa.Column("digest", sa.String(length=200), nullable=False),
            sa.Column("repository", sa.String(length=255), nullable=False),
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
        op.create_index("ix_scan_tasks_due", "scan_tasks", ["status", "next_time"], unique=False)
        op.create_index("ix_scan_tasks_digest", "scan_tasks", ["digest"], unique=False)
    reports = sa.table(
        "scan_reports",
        sa.column("digest", sa.String()),
        sa.column("repository", sa.String()),
        sa.column("status", sa.String()),
        sa.column("queued_at", sa.Float()),
    )
    tasks = sa.table(
        "scan_tasks",
        *(sa.column(name) for name in (
            "execution_id", "digest", "repository", "max_attempts", "backoff", "status",
            "status_message", "run_count", "next_time", "lease_owner", "lease_until", "log",
            "creation_time", "update_time", "start_time", "end_time",
        )),
    )  # fmt: skip
    now = time.time()
    pending = bind.execute(
        sa.select(reports.c.digest, reports.c.repository, reports.c.queued_at).where(
            reports.c.status == "pending"
        )
    ).all()
    if pending:
        bind.execute(
            tasks.insert(),
            [
                {"execution_id": 0, "digest": r.digest, "repository": r.repository,
                 "max_attempts": 1, "backoff": 0.0, "status": "Pending", "status_message": "",
                 "run_count": 0, "next_time": now, "lease_owner": "", "lease_until": 0.0,
                 "log": "", "creation_time": r.queued_at, "update_time": now,
                 "start_time": 0.0, "end_time": 0.0}
                for r in pending
            ],
        )  # fmt: skip
    columns = {c["name"] for c in sa.inspect(bind).get_columns("scan_reports")}
    with op.batch_alter_table("scan_reports") as batch:
        for name in _LEASES:
            if name in columns:
                batch.drop_column(name)


def downgrade() -> None:
    with op.batch_alter_table("scan_reports") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    op.drop_index("ix_scan_tasks_digest", table_name="scan_tasks")
    op.drop_index("ix_scan_tasks_due", table_name="scan_tasks")
    op.drop_table("scan_tasks")
