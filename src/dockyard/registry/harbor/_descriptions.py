"""Repository descriptions (Harbor's ``PUT …/repositories/{name}``), in the registry's database
in a table of their own."""

from __future__ import annotations

import time

from sqlalchemy import Column, Float, MetaData, String, Table, Text, delete, select

from dockyard.registry.metadata import Database
from dockyard.registry.metadata._sql import upsert

__all__ = ["MAX_DESCRIPTION", "Descriptions"]

#: Longest description kept (characters).
MAX_DESCRIPTION = 4096

_metadata = MetaData()

descriptions = Table(
    "api_repository_descriptions",
    _metadata,
    Column("name", String(255), primary_key=True),
    Column("description", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)


class Descriptions:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.create_tables(_metadata)

    def get(self, name: str) -> str | None:
        with self.db.read() as conn:
            row = conn.execute(
                select(descriptions.c.description).where(descriptions.c.name == name)
            ).first()
        return None if row is None else str(row[0])

    def get_many(self, names: list[str]) -> dict[str, str]:
        if not names:
            return {}
        q = select(descriptions.c.name, descriptions.c.description).where(
            descriptions.c.name.in_(names)
        )
        with self.db.read() as conn:
            return {r[0]: r[1] for r in conn.execute(q)}

    def set(self, name: str, description: str) -> None:
        with self.db.write() as conn:
            upsert(
                conn,
                descriptions,
                {"name": name, "description": description, "updated_at": time.time()},
                ["name"],
                ["description", "updated_at"],
            )

    def forget(self, name: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(descriptions).where(descriptions.c.name == name))
