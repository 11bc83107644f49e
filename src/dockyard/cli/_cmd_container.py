"""run, ps, rm, commit, container prune: containers from local images, without a daemon."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from dockyard.cli._cmd_build import _log_debug_to_stderr
from dockyard.cli._format import emit_rows, human_size
from dockyard.cli._main import cli, exit_without_teardown, open_store
from dockyard.cli._run_argv import start
from dockyard.container import (
    ContainerRecord,
    container_sizes,
    container_state,
    parse_ps_filters,
    prune_containers,
    remove_containers,
    run_container,
    select_containers,
)
from dockyard.container.commit import commit_container
from dockyard.storefiles import root_dir


@cli.command(
    "run",
    context_settings={"allow_interspersed_args": False},
    short_help="Create and run a new container from an image.",
)
@click.option("--rm", "remove", is_flag=True, help="Remove the container when it exits.")
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY.")
@click.option("-e", "--env", "env", multiple=True, help="Set an environment variable (K=V or K).")
@click.option(
    "--env-file",
    "env_files",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read environment variables from a file.",
)
@click.option("-v", "--volume", "volumes", multiple=True, help="Bind mount HOST:CONTAINER[:ro].")
@click.option("-w", "--workdir", help="Working directory inside the container.")
@click.option("-u", "--user", help="User (name|uid[:group|gid]).")
@click.option("--entrypoint", help="Overwrite the image's ENTRYPOINT (and clear its CMD).")
@click.option("--network", type=click.Choice(["host", "none"]), default="host", show_default=True)
@click.option(
    "--platform",
    help="Platform of the image (os/arch[/variant]); a foreign one runs under qemu emulation.",
)
@click.option("--name", help="Name of the container.")
@click.option("--read-only", is_flag=True, help="Mount the root filesystem read-only.")
@click.option("--tmpfs", multiple=True, help="Mount a tmpfs at PATH[:OPTIONS].")
@click.option("-h", "--hostname", help="Container host name.")
@click.option(
    "--debug", is_flag=True, help="Also log debug details (the runtime chosen) to stderr."
)
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run_cmd(ctx: click.Context, /, **params: Any) -> None:
    """Run COMMAND (else the image's) in a new container from IMAGE, in the foreground.

    Exits with the container's status; 125 when dockyard fails, 126 when the command cannot
    be executed, 127 when it is not found.
    """

    if params["debug"]:
        _log_debug_to_stderr()

    status = start(
        _store_root(ctx),
        params,
        full=lambda options, platform: run_container(open_store(ctx), options, platform=platform),
    )
    assert status is not None  # with ``full``, the run always happens
    exit_without_teardown()  # the container's record is written: skip freeing every object
    ctx.exit(status)


def _store_root(ctx: click.Context) -> Path:
    """The store's root as ``open_store`` would open it (``--root``, else the default)."""
    root: Path | None = ctx.find_root().obj["root"]
    if root is None:
        return Path(root_dir())
    return root


@cli.command("ps")
@click.option("-a", "--all", "show_all", is_flag=True, help="Show all containers.")
@click.option(
    "-f",
    "--filter",
    "filters",
    multiple=True,
    metavar="KEY=VALUE",
    help="Filter output (id=, name=, status=, exited=, ancestor=, before=, since=).",
)
@click.option(
    "-n",
    "--last",
    type=int,
    default=-1,
    show_default=True,
    help="Show n last created containers (includes all states).",
)
@click.option(
    "-l",
    "--latest",
    is_flag=True,
    help="Show the latest created container (includes all states).",
)
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option("-q", "--quiet", is_flag=True, help="Only display container IDs.")
@click.option("-s", "--size", "show_size", is_flag=True, help="Display total file sizes.")
@click.option("--format", "fmt", help="table, json, or a Go template.")
@click.pass_context
def ps_cmd(
    ctx: click.Context,
    show_all: bool,
    filters: tuple[str, ...],
    last: int,
    latest: bool,
    no_trunc: bool,
    quiet: bool,
    show_size: bool,
    fmt: str | None,
) -> None:
    """List containers.

    Running ones only; every container with -a, -n, -l or a status filter.
    """

    if latest and last == -1:
        last = 1
    store = open_store(ctx)
    records = select_containers(store, all=show_all, last=last, filters=parse_ps_filters(filters))
    if quiet:
        for record in records:
            click.echo(record.id if no_trunc else record.id[:12])
        return
    # docker computes sizes for -s, and for a format that shows them (json shows every field)
    sized = show_size or fmt == "json" or (fmt is not None and ".Size" in fmt)
    rows = []
    for record in records:
        row = _ps_row(record, trunc=not no_trunc)
        if sized:
            rw, virtual = container_sizes(store, record)
            shown = human_size(rw)
            row["Size"] = f"{shown} (virtual {human_size(virtual)})" if virtual else shown
        rows.append(row)
    if fmt == "json":
        for record, row in zip(records, rows, strict=True):
            click.echo(json.dumps(row | {"ExitCode": record.exit_code}, ensure_ascii=False))
        return
    headers = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"]
    keys = ["ID", "Image", "Command", "RunningFor", "Status", "Names"]
    if show_size:
        headers.append("SIZE")
        keys.append("Size")
    emit_rows(fmt, headers, keys, rows)


def _ago(stamp: str) -> str:
    """docker's "5 minutes ago" for an RFC 3339 time."""
    from datetime import UTC, datetime

    try:
        then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return stamp
    seconds = int((datetime.now(UTC) - then).total_seconds())
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "Less than a second ago" if seconds < 1 else f"{seconds} seconds ago"


def _ps_row(record: object, *, trunc: bool = True) -> dict[str, object]:

    assert isinstance(record, ContainerRecord)
    # docker's: the path, then its arguments, those with a space in single quotes
    path, *args = (*record.entrypoint, *record.cmd) or ("",)
    command = " ".join([path, *(f"'{a}'" if " " in a else a for a in args)])
    if trunc and len(command) > 20:
        command = command[:19] + "…"
    state = container_state(record)
    if state == "running":
        status = "Up"
    elif record.exit_code is None:
        status = "Created"
    else:
        status = f"Exited ({record.exit_code})"
    return {
        "ID": record.id[:12] if trunc else record.id,
        "Image": record.image,
        "Command": json.dumps(command, ensure_ascii=False),
        "CreatedAt": record.created,
        "RunningFor": _ago(record.created),
        "Status": status,
        "State": state,
        "Names": record.name,
    }


@cli.command("rm")
@click.option("-f", "--force", is_flag=True, help="Force the removal of a running container.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def rm_cmd(ctx: click.Context, force: bool, containers: tuple[str, ...]) -> None:
    """Remove one or more containers."""

    failed = False
    for name, error in remove_containers(open_store(ctx), containers, force=force):
        if error is None:
            click.echo(name)
        else:
            failed = True
            click.echo(f"Error response from daemon: {error}", err=True)
    if failed:
        sys.exit(1)


class _CommitCommand(click.Command):
    """``commit``, taking docker's ``--pause=false`` (``-p`` alone, as ``--pause``, is true)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        fixed = []
        for arg in args:
            name, sep, value = arg.partition("=")
            if sep and name in ("-p", "--pause"):
                if value.lower() not in ("true", "1", "false", "0"):
                    raise click.BadParameter(
                        f"{value!r} is not true or false", ctx, param_hint=name
                    )
                arg = "--pause" if value.lower() in ("true", "1") else "--no-pause"
            fixed.append(arg)
        return super().parse_args(ctx, fixed)


@cli.command("commit", cls=_CommitCommand)
@click.option("-a", "--author", default="", help='Author (e.g., "John Hannibal Smith").')
@click.option(
    "-c",
    "--change",
    "changes",
    multiple=True,
    help="Apply a Dockerfile instruction to the image (CMD, ENTRYPOINT, ENV, EXPOSE, "
    "HEALTHCHECK, LABEL, ONBUILD, USER, VOLUME, WORKDIR).",
)
@click.option("-m", "--message", default="", help="Commit message.")
@click.option(
    "-p",
    "--pause/--no-pause",
    default=True,
    help="Pause a running container during the commit (default; --pause=false not to).",
)
@click.argument("container")
@click.argument("repository", required=False)
@click.pass_context
def commit_cmd(
    ctx: click.Context,
    author: str,
    changes: tuple[str, ...],
    message: str,
    pause: bool,
    container: str,
    repository: str | None,
) -> None:
    """Create a new image from a container's changes."""

    image = commit_container(
        open_store(ctx),
        container,
        repository,
        changes=changes,
        message=message,
        author=author,
        pause=pause,
    )
    click.echo(str(image))


@cli.group("container")
def container_group() -> None:
    """Manage containers."""


@container_group.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.pass_context
def prune_cmd(ctx: click.Context, force: bool) -> None:
    """Remove all stopped containers."""

    if not force and not click.confirm(
        "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?"
    ):
        return
    removed, freed = prune_containers(open_store(ctx))
    if removed:
        click.echo("Deleted Containers:")
        for record in removed:
            click.echo(record.id)
        click.echo("")
    click.echo(f"Total reclaimed space: {human_size(freed)}")
