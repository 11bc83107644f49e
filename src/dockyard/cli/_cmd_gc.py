"""``dockyard gc``: a registry's garbage collection through Harbor's ``/system/gc`` — run it
now (or a dry run), its schedule, its history and each run's log. ``dockyard registry gc``
collects a registry's own storage directly, on the machine it runs on."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from dockyard.cli._main import cli
from dockyard.cli._teams import Connector, ago, api_options, emit_list, emit_one, usage
from dockyard.client.harbor.gc import (
    GcOptions,
    gc_history,
    gc_log,
    gc_schedule,
    get_gc,
    set_gc_schedule,
    start_gc,
    stop_gc,
    wait_gc,
)

_KINDS = {"hourly": "Hourly", "daily": "Daily", "weekly": "Weekly"}


@cli.group("gc")
def gc_group() -> None:
    """Garbage collection of a registry (Harbor's API): run, schedule, history.

    System administrators only.

    \b
    dockyard gc run --dry-run
    dockyard gc schedule set daily --delete-untagged
    dockyard gc history
    """


def _gc_options(func: Any) -> Any:
    for option in reversed(
        [
            click.option(
                "--delete-untagged",
                is_flag=True,
                help="Also delete manifests no tag names (and their blobs).",
            ),
            click.option(
                "--workers",
                type=click.IntRange(1, 5),
                default=1,
                show_default=True,
                help="Deletes in parallel.",
            ),
            click.option(
                "--time-window",
                type=click.FloatRange(0),
                default=2.0,
                show_default=True,
                metavar="HOURS",
                help="Leave blobs younger than this alone.",
            ),
        ]
    ):
        func = option(func)
    return func


def _parameters(delete_untagged: bool, workers: int, time_window: float, dry_run: bool
                ) -> GcOptions:  # fmt: skip
    window: float | int = int(time_window) if time_window.is_integer() else time_window
    return {"delete_untagged": delete_untagged, "dry_run": dry_run, "workers": workers,
            "time_window": window}  # fmt: skip


def _summary(run: dict[str, Any]) -> dict[str, str]:
    return {
        "id": str(run.get("id")),
        "status": str(run.get("job_status")),
        "trigger": str(run.get("job_kind")),
        "parameters": str(run.get("job_parameters")),
        "started": ago(str(run.get("creation_time") or "")),
        "updated": ago(str(run.get("update_time") or "")),
    }


@gc_group.command("run")
@_gc_options
@click.option("--dry-run", is_flag=True, help="Only log what would be deleted.")
@click.option("--no-wait", is_flag=True, help="Start the run and print its id.")
@api_options
def run_cmd(
    delete_untagged: bool,
    workers: int,
    time_window: float,
    dry_run: bool,
    no_wait: bool,
    harbor: Connector,
    fmt: str,
) -> None:
    """Collect garbage now; prints the run's log when it ends (exit 1 unless it succeeded)."""
    run = start_gc(harbor(), _parameters(delete_untagged, workers, time_window, dry_run))
    if no_wait:
        emit_one(fmt, {"id": run}, str(run))
        return
    done = wait_gc(harbor(), run)
    if fmt == "json":
        click.echo(json.dumps(done, separators=(",", ":")))
    else:
        sys.stdout.write(gc_log(harbor(), run))
        click.echo(f"gc run {run}: {done.get('job_status')}", err=True)
    if done.get("job_status") != "Success":
        raise SystemExit(1)


@gc_group.command("history")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@api_options
def history_cmd(limit: int, harbor: Connector, fmt: str) -> None:
    """List the runs, newest first."""
    runs = gc_history(harbor(), limit=limit)
    emit_list(fmt, ["ID", "STATUS", "TRIGGER", "PARAMETERS", "STARTED", "UPDATED"], runs,
              lambda r: list(_summary(r).values()))  # fmt: skip


@gc_group.command("show")
@click.argument("run", type=int)
@api_options
def show_cmd(run: int, harbor: Connector, fmt: str) -> None:
    """Show one run."""
    found = get_gc(harbor(), run)
    emit_one(fmt, found, _summary(found))


@gc_group.command("log")
@click.argument("run", type=int)
@api_options
def log_cmd(run: int, harbor: Connector, fmt: str) -> None:
    """Print a run's log."""
    text = gc_log(harbor(), run)
    if fmt == "json":
        click.echo(json.dumps({"id": run, "log": text}, separators=(",", ":")))
    else:
        sys.stdout.write(text)


@gc_group.command("stop")
@click.argument("run", type=int)
@api_options
def stop_cmd(run: int, harbor: Connector, fmt: str) -> None:
    """Stop a run (after the batch it is deleting)."""
    stop_gc(harbor(), run)
    emit_one(fmt, {"id": run}, f"gc run {run}: stopping")


@gc_group.group("schedule")
def schedule_group() -> None:
    """Show, set or remove the schedule."""


@schedule_group.command("show")
@api_options
def schedule_show(harbor: Connector, fmt: str) -> None:
    """Show the schedule."""
    found = gc_schedule(harbor())
    if found is None:
        emit_one(fmt, {}, "no gc schedule")
        return
    schedule = found.get("schedule") or {}
    emit_one(fmt, found, {"type": str(schedule.get("type")), "cron": str(schedule.get("cron")),
                          "next": str(schedule.get("next_scheduled_time")),
                          "parameters": str(found.get("job_parameters"))})  # fmt: skip


@schedule_group.command("set")
@click.argument("when", metavar="hourly|daily|weekly|CRON")
@_gc_options
@api_options
def schedule_set(
    when: str, delete_untagged: bool, workers: int, time_window: float, harbor: Connector,
    fmt: str,
) -> None:  # fmt: skip
    """Collect garbage on a schedule: hourly, daily, weekly, or a cron of 6 fields (seconds
    first, Harbor's: "0 0 3 * * *" is 03:00 daily)."""
    kind = _KINDS.get(when.lower())
    cron = None
    if kind is None:
        if len(when.split()) != 6:
            raise usage(f"{when!r} is not hourly, daily, weekly or a cron of 6 fields")
        kind, cron = "Custom", when
    set_gc_schedule(harbor(), kind, cron, _parameters(delete_untagged, workers, time_window, False))
    emit_one(fmt, {"type": kind, "cron": cron or ""}, f"gc schedule set: {cron or kind}")


@schedule_group.command("rm")
@api_options
def schedule_rm(harbor: Connector, fmt: str) -> None:
    """Remove the schedule."""
    set_gc_schedule(harbor(), "None", None, _parameters(False, 1, 2.0, False))
    emit_one(fmt, {}, "gc schedule removed")
