"""``dockyard manifest create|annotate|push|rm``: docker manifest's local manifest lists."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dockyard.cli._cmd_client import _remote_ref, client_options, manifest_group
from dockyard.client import RegistryClient
from dockyard.client.manifest_lists import ManifestLists
from dockyard.local import default_root


def _lists(ctx: click.Context) -> ManifestLists:
    root = ctx.find_root().obj.get("root")
    if root is None:
        root = default_root()
    return ManifestLists(Path(root))


@manifest_group.command("create")
@click.argument("manifest_list")
@click.argument("manifests", nargs=-1, required=True)
@click.option("-a", "--amend", is_flag=True, help="Amend an existing manifest list.")
@client_options
@click.pass_context
def create_cmd(
    ctx: click.Context,
    manifest_list: str,
    manifests: tuple[str, ...],
    amend: bool,
    client: RegistryClient,
) -> None:
    """Create a local manifest list of images in a registry, for annotating and pushing."""
    name = _remote_ref(manifest_list)
    _lists(ctx).create(client, name, [_remote_ref(m) for m in manifests], amend=amend)
    click.echo(f"Created manifest list {name}")


@manifest_group.command("annotate")
@click.argument("manifest_list")
@click.argument("manifest")
@click.option("--os", "os_name", help="Set the operating system.")
@click.option("--arch", help="Set the architecture.")
@click.option("--variant", help="Set the architecture variant.")
@click.option("--os-version", help="Set the operating system version.")
@click.option("--os-features", help="Set the operating system features (comma-separated).")
@click.pass_context
def annotate_cmd(
    ctx: click.Context,
    manifest_list: str,
    manifest: str,
    os_name: str | None,
    arch: str | None,
    variant: str | None,
    os_version: str | None,
    os_features: str | None,
) -> None:
    """Set the platform of one image of a local manifest list."""
    features = tuple(f for f in (os_features or "").split(",") if f)
    _lists(ctx).annotate(
        _remote_ref(manifest_list), _remote_ref(manifest), os=os_name, arch=arch,
        variant=variant, os_version=os_version, os_features=features,
    )  # fmt: skip


@manifest_group.command("push")
@click.argument("manifest_list")
@click.option("-p", "--purge", is_flag=True, help="Remove the local manifest list after push.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@client_options
@click.pass_context
def push_cmd(
    ctx: click.Context, manifest_list: str, purge: bool, fmt: str, client: RegistryClient
) -> None:
    """Push a local manifest list (its images first, copied or mounted registry-side)."""
    name = _remote_ref(manifest_list)
    descriptor = _lists(ctx).push(client, name, purge=purge)
    if fmt == "json":
        click.echo(json.dumps({"name": str(name), **descriptor.to_json()}))
    else:
        click.echo(str(descriptor.digest))


@manifest_group.command("rm")
@click.argument("manifest_lists", nargs=-1, required=True)
@click.pass_context
def rm_cmd(ctx: click.Context, manifest_lists: tuple[str, ...]) -> None:
    """Delete local manifest lists."""
    lists = _lists(ctx)
    for item in manifest_lists:
        lists.rm(_remote_ref(item))
