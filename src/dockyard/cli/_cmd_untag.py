"""``dockyard untag REF…``: remove tags on a registry while their manifests stay (Harbor's
``DELETE …/artifacts/{reference}/tags/{tag}``) — where ``dockyard delete`` removes the
manifest with every tag naming it."""

from __future__ import annotations

import click

from dockyard.cli._cmd_promote import _connect_or, _split
from dockyard.cli._main import cli
from dockyard.cli._teams import Connector, api_options, emit_one, usage
from dockyard.client.harbor.artifacts import untag


@cli.command("untag")
@click.argument("refs", nargs=-1, required=True, metavar="[REGISTRY/]PROJECT/REPO:TAG...")
@api_options
def untag_command(refs: tuple[str, ...], harbor: Connector, fmt: str) -> None:
    """Remove tags from a registry while their manifests stay (Harbor's API).

    The manifests stay pullable by digest, until retention or garbage collection decides.

    \b
    dockyard untag registry.example.com/team/app:rc1
    """
    for ref in refs:
        registry, project, repository, tag = _split(ref)
        if tag.startswith("sha256:"):
            raise usage(f"{ref!r} names a digest: untag takes a tag (PROJECT/REPO:TAG)")
    for ref in refs:
        registry, project, repository, tag = _split(ref)
        client = harbor() if registry is None else _connect_or(harbor, registry)
        untag(client, project, repository, tag)
        emit_one(fmt, {"project": project, "repository": repository, "tag": tag},
                 f"Untagged: {project}/{repository}:{tag}")  # fmt: skip
