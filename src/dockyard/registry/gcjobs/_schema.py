"""Garbage collection's own tables in the registry's database: one row per run (its status,
parameters, report and bounded log) and the one schedule."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, Text

__all__ = ["gc_runs", "gc_schedule", "metadata"]

metadata = MetaData()

gc_runs = Table(
    "gc_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    #: MANUAL or SCHEDULE (Harbor's execution triggers)
    Column("trigger", String(16), nullable=False),
    #: Pending, Running, Success, Error, Stopped
    Column("status", String(16), nullable=False, index=True),
    Column("parameters", Text, nullable=False),  # JSON
    Column("report", Text, nullable=True),  # JSON summary once finished
    Column("log", Text, nullable=False, default=""),
    Column("stop_requested", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

gc_schedule = Table(
    "gc_schedule",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1: there is one schedule
    Column("type", String(16), nullable=False),  # Hourly, Daily, Weekly, Custom
    Column("cron", String(128), nullable=False),
    Column("parameters", Text, nullable=False),  # JSON
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    #: the last time a run was due and started (exactly once across processes)
    Column("fired_at", Float, nullable=False),
)
