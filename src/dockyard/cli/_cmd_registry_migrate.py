"""``dockyard registry migrate``: bring the registry database's schema to this version's."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dockyard.cli._cmd_registry import _config, _where_the_registry_is, registry_group
from dockyard.registry.metadata import Database
from dockyard.registry.migrations import migrate


@registry_group.command("migrate")
@_where_the_registry_is
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def migrate_cmd(config_file: Path | None, data_root: Path | None, fmt: str) -> None:
    """Create or upgrade the registry database's tables (database.url, REGISTRY_DATABASE_URL).

    Run it once before starting registries on a new or upgraded PostgreSQL database; they
    refuse to serve a schema older or newer than their own. The embedded SQLite database is
    migrated when the registry starts. Running it again does nothing.
    """

    config = _config(config_file, data_root, {})
    settings = config.database
    target = settings if settings.url else Path(config.storage.rootdirectory) / "registry.db"
    db = Database(target)
    try:
        result = migrate(db)
    finally:
        db.close()
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    if not result.changed:
        click.echo(f"{result.database}: schema at revision {result.after}, nothing to do")
        return
    before = result.before or "none"
    made = f", {len(result.created)} table(s) created" if result.created else ""
    click.echo(f"{result.database}: schema revision {before} -> {result.after}{made}")
