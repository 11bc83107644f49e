"""system df, info."""

from __future__ import annotations

import json
import re
from typing import Any

import click

from dockyard.cli._format import bytes_size, emit_rows, human_size, render_template, table
from dockyard.cli._main import cli, open_store
from dockyard.imageservice import disk_usage, system_info
from dockyard.reference import Reference


@cli.group("system")
def system_group() -> None:
    """Manage dockyard's local store."""


@system_group.command("df")
@click.option("-v", "--verbose", is_flag=True, help="Show detailed information on space usage.")
@click.option("--format", "fmt", help="table, json, or a Go template.")
@click.pass_context
def df_cmd(ctx: click.Context, verbose: bool, fmt: str | None) -> None:
    """Show the local store's disk usage."""
    usage = disk_usage(open_store(ctx))
    pct = f" ({100 * usage.reclaimable // usage.size}%)" if usage.size else ""
    rows = [
        {
            "Type": "Images",
            "TotalCount": str(usage.total_images),
            "Active": str(usage.active_images),
            "Size": human_size(usage.size),
            "Reclaimable": f"{human_size(usage.reclaimable)}{pct}",
        }
    ]
    emit_rows(
        fmt,
        ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
        ["Type", "TotalCount", "Active", "Size", "Reclaimable"],
        rows,
    )
    if verbose and fmt is None:
        click.echo("\nImages space usage:\n")
        detail = [
            [
                ref.familiar_name if ref else "<none>",
                (ref.tag or "<none>") if ref else "<none>",
                image.id.short,
                human_size(image.size),
                human_size(usage.unique.get(str(image.id), 0)),
            ]
            for image in usage.images
            for ref in (list[Reference | None](image.tags) or [None])
        ]

        click.echo(table(["REPOSITORY", "TAG", "IMAGE ID", "SIZE", "UNIQUE SIZE"], detail))


@cli.command("info")
@click.option("-f", "--format", "fmt", help="json, or a Go template.")
@click.pass_context
def info_cmd(ctx: click.Context, fmt: str | None) -> None:
    """Display information about dockyard and its store."""
    info = system_info(open_store(ctx))
    if fmt == "json":
        click.echo(json.dumps(info))
    elif fmt:
        click.echo(render_template(fmt, info))
    else:
        for key, value in info.items():
            click.echo(f" {_label(key)}: {_info_value(key, value)}")


#: ``docker info``'s words where they differ from splitting the JSON key at its capitals.
_LABELS = {"Driver": "Storage Driver"}
#: Byte counts, shown as ``docker info`` shows ``Total Memory`` (``78.85GiB``).
_SIZES = frozenset({"DiskFree"})
_WORD = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _label(key: str) -> str:
    """``DockyardRootDir`` -> ``Dockyard Root Dir`` (``OSType`` stays, as in docker)."""
    return _LABELS.get(key) or _WORD.sub(" ", key)


def _info_value(key: str, value: Any) -> str:
    """A value as ``docker info`` prints it: names separated by spaces for a map or a list
    (``Runtimes: crun runc``), sizes in binary units, never a Python repr."""
    if key in _SIZES and isinstance(value, int):
        return bytes_size(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return " ".join(str(item) for item in value)
    return "" if value is None else str(value)


system_group.add_command(info_cmd, "info")
