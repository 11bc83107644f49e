"""The replication tables (SQLAlchemy Core, their own MetaData) in the registry's database.

``replication_registries`` are Harbor's endpoint registries (where artifacts are copied to);
``replication_policies`` say what goes where and when; ``replication_executions`` is one run
of a policy (manual, or the push events of a moment); ``replication_tasks`` is the work queue:
one row per artifact to copy, with its attempts, the time of its next attempt, the lease of
the worker copying it and its log. Times are seconds since the epoch (floats), as in the
registry's other tables.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from dockyard.registry.jobs import task_columns

__all__ = ["executions", "metadata", "policies", "registries", "tasks"]

metadata = MetaData()

registries = Table(
    "replication_registries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", String(1024), nullable=False, default=""),
    #: docker-registry or harbor
    Column("type", String(32), nullable=False),
    Column("url", String(2048), nullable=False),
    #: basic (or "" : no credential)
    Column("credential_type", String(16), nullable=False, default=""),
    Column("access_key", String(255), nullable=False, default=""),
    #: sealed with the replication key (``aesgcm:v1:…``; see ._secrets), never answered
    Column("access_secret", String(4096), nullable=False, default=""),
    Column("insecure", Boolean, nullable=False, default=False),
    Column("creation_time", Float, nullable=False),
    Column("update_time", Float, nullable=False),
)

policies = Table(
    "replication_policies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", String(1024), nullable=False, default=""),
    #: 0: this registry (a push-based policy)
    Column("src_registry_id", Integer, nullable=False, default=0),
    Column("dest_registry_id", Integer, nullable=False, default=0),
    Column("dest_namespace", String(255), nullable=False, default=""),
    Column("dest_namespace_replace_count", Integer, nullable=False, default=-1),
    #: JSON: a list of filters (type, value, decoration)
    Column("filters", Text, nullable=False),
    #: manual, event_based or scheduled
    Column("trigger_type", String(16), nullable=False),
    #: Harbor's 6-field cron (seconds first) of a scheduled policy
    Column("cron", String(255), nullable=False, default=""),
    #: the last firing of its cron that a process claimed (so that replicas start it once)
    Column("last_fire", Float, nullable=False, default=0.0),
    Column("override", Boolean, nullable=False, default=True),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("replicate_deletion", Boolean, nullable=False, default=False),
    #: KB/s per task; -1 or 0: unlimited
    Column("speed", Integer, nullable=False, default=-1),
    Column("creator", String(255), nullable=False, default=""),
    Column("creation_time", Float, nullable=False),
    Column("update_time", Float, nullable=False),
)

executions = Table(
    "replication_executions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("policy_id", Integer, nullable=False),
    #: manual, event_based or scheduled
    Column("trigger", String(16), nullable=False),
    #: "" while running; how its tasks ended, once the last one did (written once: the
    #: process that writes it sends the REPLICATION event)
    Column("status_text", String(1024), nullable=False, default=""),
    Column("start_time", Float, nullable=False),
    Index("ix_replication_executions_policy", "policy_id", "id"),
)

tasks = Table(
    "replication_tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("execution_id", Integer, nullable=False),
    Column("policy_id", Integer, nullable=False),
    #: copy (an artifact, with its signatures and other referrers), or delete (a tag or a
    #: digest deleted here, at the destination)
    Column("operation", String(16), nullable=False),
    Column("src_repository", String(255), nullable=False),
    #: the tag, or the digest of an untagged artifact
    Column("src_reference", String(255), nullable=False),
    Column("dst_repository", String(255), nullable=False),
    Column("dst_tag", String(255), nullable=False, default=""),
    *task_columns(),
    Index("ix_replication_tasks_due", "status", "next_time"),
    Index("ix_replication_tasks_execution", "execution_id"),
)
