"""Dialect-aware statements SQLite and PostgreSQL both support (INSERT … ON CONFLICT), and one
page of a table with its total (Harbor's ``page``/``page_size`` listings)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["insert_ignore", "page_rows", "upsert"]


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> None:
    """Insert a row unless one with the same key exists."""
    conn.execute(_insert(conn, table).values(**values).on_conflict_do_nothing())


def upsert(
    conn: Connection, table: Table, values: dict[str, Any], keys: list[str], update: list[str]
) -> None:
    """Insert a row, or update ``update`` columns of the one with the same ``keys``."""
    stmt = _insert(conn, table).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={c: stmt.excluded[c] for c in update}
    )
    conn.execute(stmt)


def page_rows(
    conn: Connection,
    table: Table,
    where: ColumnElement[bool] | None,
    order: ColumnElement[Any],
    page: int,
    size: int,
) -> tuple[list[Row[Any]], int]:
    """Page ``page`` (from 1) of ``size`` rows of ``table`` matching ``where`` (None: all) in
    ``order``, and how many rows match in all."""
    count = select(func.count()).select_from(table)
    rows = select(table).order_by(order)
    if where is not None:
        count, rows = count.where(where), rows.where(where)
    total = int(conn.execute(count).scalar() or 0)
    return list(conn.execute(rows.limit(size).offset((page - 1) * size)).all()), total
