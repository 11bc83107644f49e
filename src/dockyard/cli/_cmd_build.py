"""``dockyard build``: docker build's flags, daemonless."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from dockyard.cli._build_run import run_build
from dockyard.cli._main import cli, exit_without_teardown, open_store


@cli.command("build")
@click.argument("context")
@click.option("-f", "--file", "file", help="Dockerfile (default: CONTEXT/Dockerfile; - = stdin).")
@click.option("-t", "--tag", "tags", multiple=True, help="Name the image (repeatable).")
@click.option("--build-arg", "build_args", multiple=True, help="Build-time variable KEY=VALUE.")
@click.option("--target", help="Build this stage (and what it needs) only.")
@click.option("--no-cache", is_flag=True, help="Do not use the build cache.")
@click.option("--pull", is_flag=True, help="Always pull base images.")
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    help="Target platform(s) os/arch[/variant]: comma-separated or repeated, as buildx.",
)
@click.option(
    "--network",
    type=click.Choice(["host", "none", "default"]),
    default="host",
    help="Network of RUN steps (default host).",
)
@click.option(
    "--secret",
    "secrets",
    multiple=True,
    help="id=NAME,src=FILE or id=NAME,env=VAR (or id=NAME alone) for --mount=type=secret.",
)
@click.option("--label", "labels", multiple=True, help="Image label KEY=VALUE (repeatable).")
@click.option(
    "--progress",
    type=click.Choice(["auto", "plain", "tty", "json", "quiet"]),
    default="auto",
    help="Progress output: auto (a live step view on a terminal, else plain), plain lines, "
    "tty (the live view), json events, quiet.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the image ID.")
@click.option(
    "-o",
    "--output",
    "outputs",
    multiple=True,
    help="type=store|oci|docker|local,dest=PATH (repeatable).",
)
@click.option("--push", is_flag=True, help="Push the named image(s) after the build.")
@click.option(
    "--cache-from",
    "cache_from",
    multiple=True,
    help="Use the cache at type=registry,ref=REF (or a bare REF) or type=local,src=DIR.",
)
@click.option(
    "--cache-to",
    "cache_to",
    multiple=True,
    help="Export the cache to type=registry,ref=REF[,mode=min|max] or type=local,dest=DIR.",
)
@click.option("--iidfile", type=click.Path(dir_okay=False, path_type=Path), help="Write the ID.")
@click.option(
    "--runtime",
    type=click.Choice(["crun", "runc"]),
    help="OCI runtime for RUN (default: crun if it can run containers on this host, else runc).",
)
@click.option(
    "--debug-shell", is_flag=True, help="Open /bin/sh in the filesystem of a failed RUN step."
)
@click.option(
    "--debug", is_flag=True, help="Also log debug details (the runtime chosen) to stderr."
)
@click.pass_context
def build_cmd(ctx: click.Context, /, **params: Any) -> None:
    """Build an image from a Dockerfile and a context (a directory, or - for a tar on stdin)."""
    if params["debug"]:  # the build leaves no no-op record: a replay would not log
        _log_debug_to_stderr()
    run_build(open_store(ctx), params)
    exit_without_teardown()  # the image, its tags and the cache are written and synced


def _log_debug_to_stderr() -> None:
    """``--debug``: dockyard's debug messages on stderr, one line each."""
    import logging  # not at import: a build without --debug does not load logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("DEBUG: %(message)s"))
    logger = logging.getLogger("dockyard")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
