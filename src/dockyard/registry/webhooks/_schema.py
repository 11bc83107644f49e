"""The webhook tables (SQLAlchemy Core, their own MetaData) in the registry's database.

``webhook_policies`` are Harbor's per-project policies; ``webhook_executions`` is one event
sent to one policy (or one registry:2 notification endpoint); ``webhook_tasks`` is the
delivery queue: one row per target and execution, with its payload, headers, attempts, the
time of its next attempt and the lease of the worker delivering it (and, for a registry:2
notification endpoint's delivery, the endpoint's name and how many events it carries: its
``registry_notifications_pending_total`` is read from these rows). Times are seconds since
the epoch (floats), as in the registry's other tables.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from dockyard.registry.jobs import task_columns

__all__ = ["executions", "metadata", "policies", "tasks"]

metadata = MetaData()

policies = Table(
    "webhook_policies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_id", Integer, nullable=False),
    Column("name", String(255), nullable=False),
    Column("description", String(1024), nullable=False, default=""),
    Column("enabled", Boolean, nullable=False, default=True),
    #: JSON: a list of Harbor event type names
    Column("event_types", Text, nullable=False),
    #: JSON: a list of targets (type, address, auth_header, skip_cert_verify, payload_format)
    Column("targets", Text, nullable=False),
    #: the HMAC-SHA256 key of the signature header ("" : deliveries are not signed)
    Column("secret", String(255), nullable=False, default=""),
    Column("creator", String(255), nullable=False, default=""),
    Column("creation_time", Float, nullable=False),
    Column("update_time", Float, nullable=False),
    UniqueConstraint("project_id", "name", name="uq_webhook_policy_name"),
)

executions = Table(
    "webhook_executions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    #: the policy (0 for a registry:2 notification endpoint)
    Column("policy_id", Integer, nullable=False),
    #: the notification endpoint's name ("" for a policy)
    Column("endpoint", String(255), nullable=False, default=""),
    Column("event_type", String(64), nullable=False),
    Column("start_time", Float, nullable=False),
    Index("ix_webhook_executions_policy", "policy_id", "id"),
)

tasks = Table(
    "webhook_tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("execution_id", Integer, nullable=False),
    Column("address", String(2048), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    #: JSON: the request's headers (content type, signature, Authorization)
    Column("headers", Text, nullable=False),
    Column("verify", Boolean, nullable=False, default=True),
    Column("timeout", Float, nullable=False),
    *task_columns(),
    #: the notification endpoint's name ("" for a policy's delivery)
    Column("endpoint", String(255), nullable=False, default="", server_default=""),
    #: events the payload carries (a notification envelope may hold several)
    Column("events", Integer, nullable=False, default=1, server_default="1"),
    Index("ix_webhook_tasks_due", "status", "next_time"),
    Index("ix_webhook_tasks_execution", "execution_id"),
)
