"""Baseline: every table of the registry, its features included (access, policies, jobs…).

On a database made before migrations existed (an embedded SQLite file written by an older
dockyard) the tables that are there are kept and only the missing ones are made; every later
revision starts from this one.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "access_audit_log" not in existing:
        op.create_table(
            "access_audit_log",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("op_time", sa.Float(), nullable=False),
            sa.Column("operation", sa.String(length=32), nullable=False),
            sa.Column("resource_type", sa.String(length=64), nullable=False),
            sa.Column("resource", sa.String(length=512), nullable=False),
            sa.Column("username", sa.String(length=255), nullable=False),
            sa.Column("project", sa.String(length=255), nullable=False),
            sa.Column("client_ip", sa.String(length=64), nullable=False),
            sa.Column("ok", sa.Boolean(), nullable=False),
            sa.Column("description", sa.String(length=1024), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            "ix_access_audit_operation_time",
            "access_audit_log",
            ["operation", "op_time"],
            unique=False,
        )
        op.create_index(
            "ix_access_audit_project_time", "access_audit_log", ["project", "op_time"], unique=False
        )
        op.create_index("ix_access_audit_resource", "access_audit_log", ["resource"], unique=False)
        op.create_index("ix_access_audit_time", "access_audit_log", ["op_time"], unique=False)
        op.create_index(
            "ix_access_audit_user_time", "access_audit_log", ["username", "op_time"], unique=False
        )
    if "access_groups" not in existing:
        op.create_table(
            "access_groups",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("name", sa.String(length=255), nullable=False),
            sa.Column("group_type", sa.Integer(), nullable=False),
            sa.Column("ldap_group_dn", sa.String(length=512), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("name", "group_type", name="uq_access_groups_name"),
        )
    if "access_login_failures" not in existing:
        op.create_table(
            "access_login_failures",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("key", sa.String(length=330), nullable=False),
            sa.Column("at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            "ix_access_login_failures_at", "access_login_failures", ["at"], unique=False
        )
        op.create_index(
            "ix_access_login_failures_key", "access_login_failures", ["key", "at"], unique=False
        )
    if "access_users" not in existing:
        op.create_table(
            "access_users",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("username", sa.String(length=255), nullable=False),
            sa.Column("email", sa.String(length=255), nullable=False),
            sa.Column("realname", sa.String(length=255), nullable=False),
            sa.Column("comment", sa.String(length=1024), nullable=False),
            sa.Column("password_hash", sa.String(length=60), nullable=True),
            sa.Column("sysadmin", sa.Boolean(), nullable=False),
            sa.Column("admin_in_auth", sa.Boolean(), nullable=False),
            sa.Column("source", sa.String(length=16), nullable=False),
            sa.Column("cli_secret_hash", sa.String(length=64), nullable=True),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("username"),
        )
    if "api_repository_descriptions" not in existing:
        op.create_table(
            "api_repository_descriptions",
            sa.Column("name", sa.String(length=255), nullable=False),
            sa.Column("description", sa.Text(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("name"),
        )
    if "blobs" not in existing:
        op.create_table(
            "blobs",
            sa.Column("digest", sa.String(length=200), nullable=False),
            sa.Column("size", sa.BigInteger(), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("digest"),
        )
    if "console_sessions" not in existing:
        op.create_table(
            "console_sessions",
            sa.Column("id_hash", sa.String(length=64), nullable=False),
            sa.Column("username", sa.String(length=255), nullable=False),
            sa.Column("csrf", sa.String(length=64), nullable=False),
            sa.Column("expires_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id_hash"),
        )
        op.create_index(
            op.f("ix_console_sessions_expires_at"), "console_sessions", ["expires_at"], unique=False
        )
    if "gc_runs" not in existing:
        op.create_table(
            "gc_runs",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("trigger", sa.String(length=16), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("parameters", sa.Text(), nullable=False),
            sa.Column("report", sa.Text(), nullable=True),
            sa.Column("log", sa.Text(), nullable=False),
            sa.Column("stop_requested", sa.Boolean(), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(op.f("ix_gc_runs_status"), "gc_runs", ["status"], unique=False)
    if "gc_schedule" not in existing:
        op.create_table(
            "gc_schedule",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("type", sa.String(length=16), nullable=False),
            sa.Column("cron", sa.String(length=128), nullable=False),
            sa.Column("parameters", sa.Text(), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.Column("fired_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
    if "promotion_policies" not in existing:
        op.create_table(
            "promotion_policies",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("project_id", sa.Integer(), nullable=False),
            sa.Column("project", sa.String(length=255), nullable=False),
            sa.Column("tags", sa.Text(), nullable=False),
            sa.Column("require", sa.Text(), nullable=False),
            sa.Column("creation_time", sa.Float(), nullable=False),
            sa.Column("update_time", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            "ix_promotion_policies_project", "promotion_policies", ["project_id"], unique=False
        )
    if "registry_state" not in existing:
        op.create_table(
            "registry_state",
            sa.Column("key", sa.String(length=64), nullable=False),
            sa.Column("value", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("key"),
        )
    if "repositories" not in existing:
        op.create_table(
            "repositories",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("name", sa.String(length=255), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("name"),
        )
    if "retention_fires" not in existing:
        op.create_table(
            "retention_fires",
            sa.Column("policy_id", sa.Integer(), nullable=False),
            sa.Column("fire_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("policy_id", "fire_at"),
        )
    if "retention_policies" not in existing:
        op.create_table(
            "retention_policies",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("project_id", sa.Integer(), nullable=False),
            sa.Column("body", sa.Text(), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("project_id"),
        )
    if "retention_pulls" not in existing:
        op.create_table(
            "retention_pulls",
            sa.Column("repository", sa.String(length=255), nullable=False),
            sa.Column("digest", sa.String(length=200), nullable=False),
            sa.Column("pulled_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("repository", "digest"),
        )
    if "scan_reports" not in existing:
        op.create_table(
            "scan_reports",
            sa.Column("digest", sa.String(length=200), nullable=False),
            sa.Column("repository", sa.String(length=255), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("queued_at", sa.Float(), nullable=False),
            sa.Column("finished_at", sa.Float(), nullable=True),
            sa.Column("error", sa.Text(), nullable=True),
            sa.Column("db_updated_at", sa.Float(), nullable=True),
            sa.Column("db_advisories", sa.Integer(), nullable=True),
            sa.Column("report", sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint("digest"),
        )
    if "webhook_executions" not in existing:
        op.create_table(
            "webhook_executions",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("policy_id", sa.Integer(), nullable=False),
            sa.Column("endpoint", sa.String(length=255), nullable=False),
            sa.Column("event_type", sa.String(length=64), nullable=False),
            sa.Column("start_time", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            "ix_webhook_executions_policy", "webhook_executions", ["policy_id", "id"], unique=False
        )
    if "webhook_policies" not in existing:
        op.create_table(
            "webhook_policies",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("project_id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(length=255), nullable=False),
            sa.Column("description", sa.String(length=1024), nullable=False),
            sa.Column("enabled", sa.Boolean(), nullable=False),
            sa.Column("event_types", sa.Text(), nullable=False),
            sa.Column("targets", sa.Text(), nullable=False),
            sa.Column("secret", sa.String(length=255), nullable=False),
            sa.Column("creator", sa.String(length=255), nullable=False),
            sa.Column("creation_time", sa.Float(), nullable=False),
            sa.Column("update_time", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("project_id", "name", name="uq_webhook_policy_name"),
        )
    if "webhook_tasks" not in existing:
        op.create_table(
            "webhook_tasks",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("execution_id", sa.Integer(), nullable=False),
            sa.Column("address", sa.String(length=2048), nullable=False),
            sa.Column("payload", sa.LargeBinary(), nullable=False),
            sa.Column("headers", sa.Text(), nullable=False),
            sa.Column("verify", sa.Boolean(), nullable=False),
            sa.Column("timeout", sa.Float(), nullable=False),
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
            "ix_webhook_tasks_due", "webhook_tasks", ["status", "next_time"], unique=False
        )
        op.create_index(
            "ix_webhook_tasks_execution", "webhook_tasks", ["execution_id"], unique=False
        )
    if "access_projects" not in existing:
        op.create_table(
            "access_projects",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("name", sa.String(length=255), nullable=False),
            sa.Column("owner_id", sa.Integer(), nullable=True),
            sa.Column("registry_id", sa.Integer(), nullable=True),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(["owner_id"], ["access_users.id"], ondelete="SET NULL"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("name"),
        )
    if "manifests" not in existing:
        op.create_table(
            "manifests",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("repo_id", sa.Integer(), nullable=False),
            sa.Column("digest", sa.String(length=200), nullable=False),
            sa.Column("media_type", sa.String(length=255), nullable=False),
            sa.Column("size", sa.BigInteger(), nullable=False),
            sa.Column("content", sa.LargeBinary(), nullable=False),
            sa.Column("artifact_type", sa.String(length=255), nullable=True),
            sa.Column("subject", sa.String(length=200), nullable=True),
            sa.Column("annotations", sa.Text(), nullable=True),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(["repo_id"], ["repositories.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("repo_id", "digest", name="uq_manifests_repo_digest"),
        )
        op.create_index("ix_manifests_digest", "manifests", ["digest"], unique=False)
        op.create_index("ix_manifests_subject", "manifests", ["repo_id", "subject"], unique=False)
    if "repo_blobs" not in existing:
        op.create_table(
            "repo_blobs",
            sa.Column("repo_id", sa.Integer(), nullable=False),
            sa.Column("digest", sa.String(length=200), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(["repo_id"], ["repositories.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("repo_id", "digest"),
        )
        op.create_index("ix_repo_blobs_digest", "repo_blobs", ["digest"], unique=False)
    if "retention_executions" not in existing:
        op.create_table(
            "retention_executions",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("policy_id", sa.Integer(), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("trigger", sa.String(length=16), nullable=False),
            sa.Column("dry_run", sa.Boolean(), nullable=False),
            sa.Column("stop_requested", sa.Boolean(), nullable=False),
            sa.Column("start_time", sa.Float(), nullable=False),
            sa.Column("end_time", sa.Float(), nullable=True),
            sa.ForeignKeyConstraint(["policy_id"], ["retention_policies.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            "ix_retention_executions_policy", "retention_executions", ["policy_id"], unique=False
        )
    if "uploads" not in existing:
        op.create_table(
            "uploads",
            sa.Column("id", sa.String(length=32), nullable=False),
            sa.Column("repo_id", sa.Integer(), nullable=False),
            sa.Column("offset", sa.BigInteger(), nullable=False),
            sa.Column("started_at", sa.Float(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(["repo_id"], ["repositories.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
        )
    if "access_members" not in existing:
        op.create_table(
            "access_members",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("project_id", sa.Integer(), nullable=False),
            sa.Column("entity_type", sa.String(length=1), nullable=False),
            sa.Column("entity_id", sa.Integer(), nullable=False),
            sa.Column("role_id", sa.Integer(), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(["project_id"], ["access_projects.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint(
                "project_id", "entity_type", "entity_id", name="uq_access_members_entity"
            ),
        )
        op.create_index(
            "ix_access_members_entity", "access_members", ["entity_type", "entity_id"], unique=False
        )
    if "access_project_metadata" not in existing:
        op.create_table(
            "access_project_metadata",
            sa.Column("project_id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("value", sa.String(length=255), nullable=False),
            sa.ForeignKeyConstraint(["project_id"], ["access_projects.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("project_id", "name"),
        )
    if "access_quota_blobs" not in existing:
        op.create_table(
            "access_quota_blobs",
            sa.Column("project_id", sa.Integer(), nullable=False),
            sa.Column("digest", sa.String(length=200), nullable=False),
            sa.Column("size", sa.BigInteger(), nullable=False),
            sa.ForeignKeyConstraint(["project_id"], ["access_projects.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("project_id", "digest"),
        )
    if "access_quotas" not in existing:
        op.create_table(
            "access_quotas",
            sa.Column("project_id", sa.Integer(), nullable=False),
            sa.Column("hard", sa.BigInteger(), nullable=False),
            sa.Column("used", sa.BigInteger(), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(["project_id"], ["access_projects.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("project_id"),
        )
    if "access_robots" not in existing:
        op.create_table(
            "access_robots",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("name", sa.String(length=255), nullable=False),
            sa.Column("description", sa.String(length=1024), nullable=False),
            sa.Column("secret_hash", sa.String(length=64), nullable=False),
            sa.Column("project_id", sa.Integer(), nullable=True),
            sa.Column("duration", sa.Integer(), nullable=False),
            sa.Column("expires_at", sa.BigInteger(), nullable=False),
            sa.Column("disabled", sa.Boolean(), nullable=False),
            sa.Column("creator_ref", sa.Integer(), nullable=False),
            sa.Column("creator_type", sa.String(length=16), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(["project_id"], ["access_projects.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("name"),
        )
    if "immutable_tag_rules" not in existing:
        op.create_table(
            "immutable_tag_rules",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("project_id", sa.Integer(), nullable=False),
            sa.Column("tag_filter", sa.Text(), nullable=False),
            sa.Column("priority", sa.Integer(), nullable=False),
            sa.Column("disabled", sa.Boolean(), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(["project_id"], ["access_projects.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("project_id", "tag_filter", name="uq_immutable_tag_rules"),
        )
    if "manifest_refs" not in existing:
        op.create_table(
            "manifest_refs",
            sa.Column("manifest_id", sa.Integer(), nullable=False),
            sa.Column("digest", sa.String(length=200), nullable=False),
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.ForeignKeyConstraint(["manifest_id"], ["manifests.id"], ondelete="CASCADE"),
            sa.UniqueConstraint("manifest_id", "digest", "kind", name="uq_manifest_refs"),
        )
        op.create_index("ix_manifest_refs_digest", "manifest_refs", ["digest"], unique=False)
    if "retention_tasks" not in existing:
        op.create_table(
            "retention_tasks",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("execution_id", sa.Integer(), nullable=False),
            sa.Column("repository", sa.String(length=255), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("start_time", sa.Float(), nullable=False),
            sa.Column("end_time", sa.Float(), nullable=True),
            sa.Column("total", sa.Integer(), nullable=False),
            sa.Column("retained", sa.Integer(), nullable=False),
            sa.Column("log", sa.Text(), nullable=False),
            sa.ForeignKeyConstraint(
                ["execution_id"], ["retention_executions.id"], ondelete="CASCADE"
            ),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(
            "ix_retention_tasks_execution", "retention_tasks", ["execution_id"], unique=False
        )
    if "tags" not in existing:
        op.create_table(
            "tags",
            sa.Column("repo_id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(length=128), nullable=False),
            sa.Column("manifest_id", sa.Integer(), nullable=False),
            sa.Column("updated_at", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(["manifest_id"], ["manifests.id"], ondelete="CASCADE"),
            sa.ForeignKeyConstraint(["repo_id"], ["repositories.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("repo_id", "name"),
        )
        op.create_index("ix_tags_manifest", "tags", ["manifest_id"], unique=False)
    if "access_robot_permissions" not in existing:
        op.create_table(
            "access_robot_permissions",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("robot_id", sa.Integer(), nullable=False),
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("project_id", sa.Integer(), nullable=True),
            sa.Column("namespace", sa.String(length=255), nullable=False),
            sa.Column("resource", sa.String(length=64), nullable=False),
            sa.Column("action", sa.String(length=32), nullable=False),
            sa.Column("effect", sa.String(length=8), nullable=False),
            sa.ForeignKeyConstraint(["project_id"], ["access_projects.id"], ondelete="CASCADE"),
            sa.ForeignKeyConstraint(["robot_id"], ["access_robots.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint(
                "robot_id",
                "kind",
                "namespace",
                "resource",
                "action",
                name="uq_access_robot_permission",
            ),
        )
    if "retention_results" not in existing:
        op.create_table(
            "retention_results",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("task_id", sa.Integer(), nullable=False),
            sa.Column("digest", sa.String(length=200), nullable=False),
            sa.Column("tags", sa.Text(), nullable=False),
            sa.Column("action", sa.String(length=16), nullable=False),
            sa.Column("error", sa.Text(), nullable=False),
            sa.ForeignKeyConstraint(["task_id"], ["retention_tasks.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index("ix_retention_results_task", "retention_results", ["task_id"], unique=False)
