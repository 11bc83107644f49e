"""Retention's own tables in the registry's database: policies, executions, their tasks
(one per repository), each task's per-artifact results, and artifacts' last pull times."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from dockyard.registry.metadata import Database

__all__ = [
    "create_tables",
    "executions",
    "fires",
    "metadata",
    "policies",
    "pulls",
    "results",
    "tasks",
]

metadata = MetaData()

_DIGEST = String(200)

policies = Table(
    "retention_policies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_id", Integer, nullable=False, unique=True),
    #: Harbor's RetentionPolicy JSON, as checked by ``parse_policy``
    Column("body", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

executions = Table(
    "retention_executions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "policy_id", Integer, ForeignKey("retention_policies.id", ondelete="CASCADE"),
        nullable=False,
    ),
    #: Running, Success, Error or Stopped (Harbor's words)
    Column("status", String(16), nullable=False),
    #: MANUAL or SCHEDULE
    Column("trigger", String(16), nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("stop_requested", Boolean, nullable=False, default=False),
    Column("start_time", Float, nullable=False),
    Column("end_time", Float),
    Index("ix_retention_executions_policy", "policy_id"),
)  # fmt: skip

tasks = Table(
    "retention_tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "execution_id", Integer, ForeignKey("retention_executions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("repository", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start_time", Float, nullable=False),
    Column("end_time", Float),
    Column("total", Integer, nullable=False, default=0),
    Column("retained", Integer, nullable=False, default=0),
    #: the task's log: Harbor's table of every artifact and what happened to it
    Column("log", Text, nullable=False, default=""),
    Index("ix_retention_tasks_execution", "execution_id"),
)  # fmt: skip

results = Table(
    "retention_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "task_id", Integer, ForeignKey("retention_tasks.id", ondelete="CASCADE"), nullable=False
    ),
    Column("digest", _DIGEST, nullable=False),
    #: comma-separated tags
    Column("tags", Text, nullable=False),
    #: RETAIN, DEL, IMMUTABLE or ERR (Harbor's log column)
    Column("action", String(16), nullable=False),
    Column("error", Text, nullable=False, default=""),
    Index("ix_retention_results_task", "task_id"),
)

#: Scheduled firings already started: the process (or replica) that records one runs it.
fires = Table(
    "retention_fires",
    metadata,
    Column("policy_id", Integer, primary_key=True),
    Column("fire_at", Float, primary_key=True),
)

#: When each artifact was last pulled (written in batches by the pull recorder).
pulls = Table(
    "retention_pulls",
    metadata,
    Column("repository", String(255), primary_key=True),
    Column("digest", _DIGEST, primary_key=True),
    Column("pulled_at", Float, nullable=False),
)


def create_tables(db: Database) -> None:
    """Create the tables that are missing, in a write transaction (``BEGIN IMMEDIATE``): a
    deferred one upgrading to write while another process or thread writes would fail at
    once with "database is locked" instead of waiting its turn."""
    with db.write() as conn:
        metadata.create_all(conn)
