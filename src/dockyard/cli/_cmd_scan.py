"""sbom, scan and db: software bills of materials and offline vulnerability reports."""

from __future__ import annotations

import os
from pathlib import Path

import click

from dockyard.cli._main import cli, open_store
from dockyard.local import LocalStore
from dockyard.oci import Platform
from dockyard.scan import Inventory, catalog_source, open_source
from dockyard.scan._sbom import SBOM_FORMATS, render_sbom


def _write(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    tmp = output.with_name(f".{output.name}.partial")
    try:
        tmp.write_text(text)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)


def _inventory(ctx: click.Context, target: str, platform: str | None) -> Inventory:
    def store() -> LocalStore:
        return open_store(ctx)

    with open_source(target, store, Platform.parse(platform) if platform else None) as source:
        return catalog_source(source)


@cli.command("sbom")
@click.argument("target", metavar="IMAGE|DIR|ARCHIVE")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(SBOM_FORMATS),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE instead of standard output.",
)
@click.option(
    "--platform", help="Platform to pick from a multi-platform image (os/arch[/variant])."
)
@click.pass_context
def sbom_cmd(
    ctx: click.Context, target: str, fmt: str, output: Path | None, platform: str | None
) -> None:
    """List the packages in an image, a directory, or an image archive (a software bill of
    materials). TARGET may be prefixed dir:, docker-archive: or oci-archive:."""
    inventory = _inventory(ctx, target, platform)
    _write(render_sbom(inventory, fmt), output)
