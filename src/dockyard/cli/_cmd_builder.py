"""builder prune: docker's ``docker builder prune``, over the store's build cache."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click

from dockyard.builder.cache.prune import prune_cache
from dockyard.builder.cache.prune_args import parse_prune_filters, parse_storage_size
from dockyard.cli._format import human_size
from dockyard.cli._main import cli, open_store
from dockyard.errors import FailedPrecondition, InvalidArgument

_WARNING = "WARNING! This will remove all dangling build cache. Are you sure you want to continue?"
_WARNING_ALL = "WARNING! This will remove all build cache. Are you sure you want to continue?"


@click.group("builder")
def builder_group() -> None:
    """Manage the build cache."""


cli.add_command(builder_group)


def _until(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> datetime | None:
    try:
        return parse_prune_filters(values)
    except InvalidArgument as exc:
        raise click.BadParameter(exc.message, ctx, param) from None


def _size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_storage_size(value)
    except InvalidArgument as exc:
        raise click.BadParameter(exc.message, ctx, param) from None


def _confirm(warning: str, out_err: bool) -> bool:
    """docker's prompt: the question, then one line of stdin; only "y" (or "yes") goes on."""
    click.echo(f"{warning} [y/N] ", nl=False, err=out_err)
    line = sys.stdin.readline()
    if not line.endswith("\n"):
        click.echo("", err=out_err)  # no answer (no terminal, stdin at its end): end the line
    return line.strip().lower() in ("y", "yes")


@builder_group.command("prune")
@click.option(
    "-a", "--all", "all_cache", is_flag=True, help="Remove all build cache, not just dangling."
)
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option(
    "--filter",
    "until",
    multiple=True,
    callback=_until,
    help="until=DURATION (e.g. 24h): only cache unused for that long.",
)
@click.option(
    "--keep-storage",
    callback=_size,
    metavar="SIZE",
    help="Amount of disk space to keep for cache (e.g. 10GB); least recently used goes first.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def prune_cmd(
    ctx: click.Context,
    all_cache: bool,
    force: bool,
    until: datetime | None,
    keep_storage: int | None,
    fmt: str,
) -> None:
    """Remove build cache: snapshots, step records, cache mounts and the layers only the cache
    kept. Without -a only cache no recorded image uses ("dangling")."""
    if not force and not _confirm(_WARNING_ALL if all_cache else _WARNING, fmt == "json"):
        raise FailedPrecondition(
            "builder prune has been cancelled", hint="pass -f to prune without a prompt"
        )
    report = prune_cache(
        open_store(ctx), all_cache=all_cache, until=until, keep_storage=keep_storage
    )
    for warning in report.warnings:
        click.echo(f"WARNING: {warning}", err=True)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "CachesDeleted": [e.id for e in report.removed],
                    "SpaceReclaimed": report.reclaimed,
                    "Caches": [e.to_json() for e in report.removed],
                    "Busy": report.busy,
                }
            )
        )
        return
    if report.removed:
        click.echo("Deleted build cache objects:")
        for entry in report.removed:
            click.echo(entry.id)
        click.echo("")
    click.echo(f"Total reclaimed space: {human_size(report.reclaimed)}")
