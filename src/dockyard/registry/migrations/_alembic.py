"""Running Alembic on a connection dockyard opened (no ``alembic.ini``: the scripts are here)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

__all__ = ["config", "head", "revisions", "upgrade"]

HERE = Path(__file__).resolve().parent


def config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def revisions() -> list[str]:
    """Every revision of the scripts, oldest first."""
    scripts = ScriptDirectory.from_config(config())
    return [s.revision for s in reversed(list(scripts.walk_revisions()))]


def head() -> str:
    head = ScriptDirectory.from_config(config()).get_current_head()
    assert head is not None
    return head


def upgrade(conn: Connection, target: str = "head") -> None:
    command.upgrade(config(conn), target)
