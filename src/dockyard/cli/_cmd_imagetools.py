"""``dockyard imagetools``: buildx's registry-side commands (inspect, create)."""

from __future__ import annotations

import json

import click

from dockyard.cli._cmd_client import _remote_ref, client_options
from dockyard.cli._main import cli
from dockyard.client import RegistryClient
from dockyard.client.imagetools import create, inspect, pretty
from dockyard.reference import Reference


@cli.group("imagetools")
def imagetools_group() -> None:
    """Work on images in a registry without pulling them (buildx's imagetools)."""


@imagetools_group.command("inspect")
@click.argument("ref")
@click.option("--raw", is_flag=True, help="Print the manifest or index as the registry holds it.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@client_options
def inspect_cmd(ref: str, raw: bool, fmt: str, client: RegistryClient) -> None:
    """Show the manifest or index REF names, with an index's platforms."""
    inspected = inspect(client, _remote_ref(ref))
    if raw:
        click.echo(inspected.raw.decode())
    elif fmt == "json":
        click.echo(json.dumps(inspected.to_json(), indent=2))
    else:
        click.echo(pretty(inspected))


@imagetools_group.command("create")
@click.argument("sources", nargs=-1, required=True)
@click.option(
    "-t",
    "--tag",
    "tags",
    multiple=True,
    required=True,
    help="Where to push the index (repeatable).",
)
@click.option(
    "--annotation",
    "annotations",
    multiple=True,
    metavar="KEY=VALUE",
    help="Annotate the index (repeatable).",
)
@click.option("--dry-run", is_flag=True, help="Print the index instead of pushing it.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@client_options
def create_cmd(
    sources: tuple[str, ...],
    tags: tuple[str, ...],
    annotations: tuple[str, ...],
    dry_run: bool,
    fmt: str,
    client: RegistryClient,
) -> None:
    """Push one multi-platform index of the SOURCES' platforms as each TAG; layers are mounted
    or copied registry-side, never pulled into the store."""
    notes: dict[str, str] = {}
    for item in annotations:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--annotation")
        notes[key.removeprefix("index:")] = value
    refs = [_remote_ref(s) for s in sources]
    for tag in tags:
        target = Reference.parse_with_default_tag(tag.removeprefix("docker://"))
        descriptor, raw = create(client, target, refs, annotations=notes or None, dry_run=dry_run)
        if dry_run:
            click.echo(json.dumps(json.loads(raw), indent=2))
        elif fmt == "json":
            click.echo(json.dumps({"name": str(target), **descriptor.to_json()}))
        else:
            click.echo(f"{target}@{descriptor.digest}")
