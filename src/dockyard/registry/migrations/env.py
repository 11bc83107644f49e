"""Alembic's environment: run on the connection dockyard hands over (inside its write
transaction, so concurrent ``migrate`` runs take turns), against every table of the schema."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from dockyard.registry.migrations._tables import schema

connection: Connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=schema(),
    compare_type=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
