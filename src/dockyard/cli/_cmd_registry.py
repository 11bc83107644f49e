"""dockyard registry serve: the OCI distribution registry, configured as registry:2 is."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli._format import human_size
from dockyard.cli._main import cli
from dockyard.cli._progress import make_progress
from dockyard.registry import Registry, collect_garbage, fsck, serve
from dockyard.registry.config import load

if TYPE_CHECKING:
    from dockyard.registry import FsckReport
    from dockyard.registry.config import RegistryConfig

#: Where ``dockyard registry serve`` keeps its data when nothing else says (``make serve``).
ROOT_ENV = "DOCKYARD_REGISTRY_ROOT"
DEFAULT_ROOT = Path(".serve")


@cli.group("registry")
def registry_group() -> None:
    """Run and maintain dockyard's container registry."""


@registry_group.command("serve")
@click.argument(
    "config_arg",
    metavar="[CONFIG]",
    required=False,
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option(
    "-c",
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="registry:2-style YAML config file, the same as CONFIG (REGISTRY_* variables "
    "override it).",
)
@click.option("--addr", help="HOST:PORT to listen on (default 127.0.0.1:5000).")
@click.option(
    "--root",
    "data_root",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Data directory for blobs and metadata (default: ${ROOT_ENV}, else ./.serve).",
)
@click.option("--delete/--no-delete", default=None, help="Allow deleting manifests and blobs.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Server processes sharing the address, e.g. one per CPU core (default 1; "
    "http.workers, REGISTRY_HTTP_WORKERS).",
)
@click.pass_context
def serve_cmd(
    ctx: click.Context,
    config_arg: Path | None,
    config_file: Path | None,
    addr: str | None,
    data_root: Path | None,
    delete: bool | None,
    workers: int | None,
) -> None:
    """Serve the OCI distribution API (push/pull with docker, podman, skopeo …).

    CONFIG (or -c) is a registry:2-style YAML config file, as in
    "dockyard registry serve config.yml".
    """
    config_file = _one_config(config_arg, config_file)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    overrides: dict[str, object] = {
        "http.addr": addr,
        "storage.delete.enabled": delete,
        "http.workers": workers,
    }
    serve(_config(config_file, data_root, overrides))


def _config(
    config_file: Path | None, data_root: Path | None, overrides: dict[str, object]
) -> RegistryConfig:
    if (
        data_root is None
        and config_file is None
        and not os.environ.get("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY")
    ):
        data_root = Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)
    root = str(data_root.absolute()) if data_root else None
    return load(config_file, overrides={**overrides, "storage.filesystem.rootdirectory": root})


def _one_config(config_arg: Path | None, config_file: Path | None) -> Path | None:
    """The config file given as CONFIG or -c (both: the same file, else a usage error)."""
    if config_arg and config_file and config_arg.resolve() != config_file.resolve():
        ctx = click.get_current_context()
        click.UsageError(
            f"two config files: {config_arg} and --config {config_file}; give one", ctx
        ).show()
        ctx.exit(2)
    return config_file or config_arg


def _where_the_registry_is(command: Callable[..., Any]) -> Callable[..., Any]:
    """``[CONFIG]`` (as registry:2's ``registry garbage-collect config.yml``), ``-c/--config``
    and ``--root``: what says which registry gc, fsck and migrate work on."""

    inner = command

    @functools.wraps(inner)
    def with_config(*args: Any, **kwargs: Any) -> Any:
        kwargs["config_file"] = _one_config(kwargs.pop("config_arg"), kwargs["config_file"])
        return inner(*args, **kwargs)

    command = click.argument(
        "config_arg",
        metavar="[CONFIG]",
        required=False,
        type=click.Path(dir_okay=False, path_type=Path),
    )(with_config)
    command = click.option(
        "--root",
        "data_root",
        type=click.Path(file_okay=False, path_type=Path),
        help=f"The registry's data directory (default: ${ROOT_ENV}, else ./.serve).",
    )(command)
    return click.option(
        "-c",
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The registry's config file (REGISTRY_* variables override it).",
    )(command)


@registry_group.command("gc")
@_where_the_registry_is
@click.option("-d", "--dry-run", is_flag=True, help="Only say what would be deleted.")
@click.option(
    "-m",
    "--delete-untagged",
    is_flag=True,
    default=None,
    help="Also delete manifests no tag points at (default: storage.maintenance.gc).",
)
@click.option(
    "--time-window",
    type=click.FloatRange(min=0),
    help="Keep anything pushed or linked within this many hours (default: "
    "storage.maintenance.gc.timewindow, else 1).",
)
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    help="The time window in seconds (instead of --time-window).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 10),
    help="Threads deleting files, 1 to 10 (default: storage.maintenance.gc.workers, else 1).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def gc_cmd(
    ctx: click.Context,
    config_file: Path | None,
    data_root: Path | None,
    dry_run: bool,
    delete_untagged: bool | None,
    time_window: float | None,
    grace: float | None,
    workers: int | None,
    fmt: str,
) -> None:
    """Delete blobs nothing refers to, while the registry keeps serving.

    The JSON report lists every manifest, blob and unrecorded file deleted (or, with
    --dry-run, that would be), the bytes freed and the seconds taken.
    """
    if time_window is not None and grace is not None:
        click.UsageError("give --time-window (hours) or --grace (seconds), not both", ctx).show()
        ctx.exit(2)

    config = _config(config_file, data_root, {})
    storage = config.storage
    window = storage.gc_time_window
    if time_window is not None:
        window = time_window * 3600
    elif grace is not None:
        window = grace
    registry = Registry.open(
        config.storage.rootdirectory,
        database=config.database,
        redis=config.redis,
        s3=config.storage.s3,
    )
    try:
        report = collect_garbage(
            registry,
            dry_run=dry_run,
            delete_untagged=storage.gc_delete_untagged if delete_untagged is None else True,
            grace=window,
            workers=workers or storage.gc_workers,
        )
    finally:
        registry.close()
    if fmt == "json":
        click.echo(json.dumps(dataclasses.asdict(report), indent=2))
        return

    verb = "would delete" if dry_run else "deleted"
    for repository, digest in report.manifests:
        click.echo(f"{verb} manifest {repository}@{digest}")
    for repository, digest, reason in report.kept:
        click.echo(f"kept manifest {repository}@{digest}: {reason}")
    for digest in report.blobs:
        click.echo(f"{verb} blob {digest}")
    for key in report.orphans:
        click.echo(f"{verb} unrecorded file {key}")
    for key, error in report.errors:
        click.echo(f"cannot remove {key}: {error}", err=True)
    click.echo(
        f"{len(report.manifests)} manifest(s), {len(report.blobs) + len(report.orphans)} "
        f"blob(s), {human_size(report.bytes_freed, 4)} {'to free' if dry_run else 'freed'}"
    )


class _FsckCommand(click.Command):
    """Usage errors exit 2, as fsck tools do (0: clean, 1: problems found)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            exc.show()
            ctx.exit(2)


@registry_group.command("fsck", cls=_FsckCommand)
@_where_the_registry_is
@click.option(
    "--quarantine",
    is_flag=True,
    help="Move corrupt blobs to quarantine/ under the data directory (never deleted) and "
    "forget them, so clients push them again.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def fsck_cmd(
    ctx: click.Context,
    config_file: Path | None,
    data_root: Path | None,
    quarantine: bool,
    fmt: str,
) -> None:
    """Check every blob against its digest and the metadata against storage.

    Exit status: 0 no problems, 1 problems found, 2 usage error. Safe while the registry
    serves; run it on a schedule (cron, a systemd timer).
    """
    import dataclasses

    config = _config(config_file, data_root, {})
    root = Path(config.storage.rootdirectory)
    if not root.is_dir() or (config.database_url is None and not (root / "registry.db").exists()):
        click.echo(
            f"Error: {root} is not a registry data directory (no registry.db); "
            "pass the --root or -c the registry serves with",
            err=True,
        )
        ctx.exit(2)
    registry = Registry.open(root, database=config.database, cache=False, s3=config.storage.s3)
    try:
        with make_progress(quiet=fmt == "json") as progress:
            report = fsck(registry, quarantine=quarantine, progress=progress)
    finally:
        registry.close()
    if fmt == "json":
        click.echo(json.dumps({**dataclasses.asdict(report), "ok": report.ok}, indent=2))
    else:
        _print_fsck(report)
    ctx.exit(0 if report.ok else 1)


def _print_fsck(report: FsckReport) -> None:
    """Sizes as docker prints them (go-units ``HumanSize``: ``2.5kB``); JSON keeps bytes."""
    moved = iter(report.quarantined)
    for c in report.corrupt:
        where = ", ".join(c.repositories) or "no repository"
        fate = f"; quarantined to {next(moved, '?')}" if report.quarantined else ""
        click.echo(
            f"corrupt blob {c.digest}: {human_size(c.size, 4)} hash to {c.actual} (in {where}){fate}"
        )
    for m in report.missing:
        click.echo(f"missing blob {m.digest} referenced by {m.repository}@{m.manifest}: {m.reason}")
    for d in report.dangling:
        click.echo(f"dangling link {d.repository} -> {d.digest}: {d.reason}")
    summary = f"checked {report.blobs_checked} blob(s), {human_size(report.bytes_checked, 4)}"
    if report.ok:
        click.echo(f"{summary}: no problems found")
        return
    click.echo(
        f"{summary}: {len(report.corrupt)} corrupt, {len(report.missing)} missing, "
        f"{len(report.dangling)} dangling link(s)"
        + (
            ""
            if report.quarantined or not report.corrupt
            else "; --quarantine moves corrupt blobs aside"
        )
    )
