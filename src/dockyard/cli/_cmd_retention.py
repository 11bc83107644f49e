"""``dockyard retention``: a project's tag retention policy (Harbor's ``/retentions``) —
show it, set it from a JSON file, run it (or dry-run it: what would go), and its history."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from dockyard.cli._main import cli
from dockyard.cli._teams import Connector, ago, api_options, emit_list, emit_one, usage
from dockyard.client.harbor.retention import (
    delete_retention,
    get_retention,
    list_executions,
    list_tasks,
    run_retention,
    set_retention,
    task_log,
    wait_execution,
)


@cli.group("retention")
def retention_group() -> None:
    """Tag retention policies of a registry's projects (Harbor's API).

    A rule retains artifacts (the most recently pushed or pulled K, those pushed or pulled
    within N days, or always) among the tags and repositories its patterns select; what no
    rule retains is deleted. Immutable tags, and signatures of what stays, are never deleted.

    \b
    dockyard retention set team policy.json
    dockyard retention run team --dry-run
    """


def _selectors(selectors: list[dict[str, Any]]) -> str:
    return ", ".join(f"{s.get('decoration')} {s.get('pattern')}" for s in selectors)


def _rule_text(rule: dict[str, Any]) -> tuple[str, str, str]:
    """(what it retains, its tag selectors, its repository selectors)."""
    params = rule.get("params") or {}
    template = str(rule.get("template"))
    retain = f"{template}={next(iter(params.values()))}" if params else template
    repos = (rule.get("scope_selectors") or {}).get("repository") or []
    return retain, _selectors(rule.get("tag_selectors") or []), _selectors(repos)


@retention_group.command("show")
@click.argument("project")
@api_options
def show_cmd(project: str, harbor: Connector, fmt: str) -> None:
    """Show PROJECT's retention policy (JSON with --format json: Harbor's RetentionPolicy)."""
    policy = get_retention(harbor(), project)
    if fmt == "json":
        click.echo(json.dumps(policy, separators=(",", ":")))
        return
    rules = policy.get("rules") or []
    rows = [[str(n), *_rule_text(r), "yes" if r.get("disabled") else "no"]
            for n, r in enumerate(rules)]  # fmt: skip
    cron = ((policy.get("trigger") or {}).get("settings") or {}).get("cron") or "manual only"
    click.echo(f"policy {policy.get('id')}, schedule: {cron}")
    emit_list("table", ["RULE", "RETAIN", "TAGS", "REPOSITORIES", "DISABLED"], rows, lambda r: r)


@retention_group.command("set")
@click.argument("project")
@click.argument("file", metavar="POLICY.json", type=click.Path(dir_okay=False, allow_dash=True))
@api_options
def set_cmd(project: str, file: str, harbor: Connector, fmt: str) -> None:
    """Set PROJECT's policy from a JSON file (- for stdin): Harbor's RetentionPolicy, whose
    ``rules`` and ``trigger`` are used (the scope is PROJECT)."""
    text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    try:
        policy = json.loads(text)
    except json.JSONDecodeError as exc:
        raise usage(f"{file} is not JSON: {exc}") from None
    if not isinstance(policy, dict):
        raise usage(f"{file} must hold a JSON object with rules (and a trigger)")
    pid = set_retention(harbor(), project, policy)
    emit_one(fmt, {"id": pid, "project": project}, f"retention policy {pid} of {project} set")


@retention_group.command("rm")
@click.argument("project")
@api_options
def rm_cmd(project: str, harbor: Connector, fmt: str) -> None:
    """Remove PROJECT's retention policy (and its history)."""
    delete_retention(harbor(), project)
    emit_one(fmt, {"project": project}, f"retention policy of {project} removed")


def _results(harbor: Connector, project: str, execution: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for task in list_tasks(harbor(), project, execution):
        log = task_log(harbor(), project, execution, int(task["id"]))
        for line in log.splitlines()[2:]:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) != 7:
                continue
            out.append({"repository": task["repository"], "digest": cells[0],
                        "tags": [t for t in cells[1].split(",") if t], "action": cells[6]})  # fmt: skip
    return out


@retention_group.command("run")
@click.argument("project")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@click.option("--no-wait", is_flag=True, help="Start the run and print its id.")
@click.option("--all", "show_all", is_flag=True, help="List retained artifacts too.")
@api_options
def run_cmd(
    project: str, dry_run: bool, no_wait: bool, show_all: bool, harbor: Connector, fmt: str
) -> None:
    """Run PROJECT's policy now; lists what was (with --dry-run: would be) deleted.

    \b
    dockyard retention run team --dry-run
    """
    execution = run_retention(harbor(), project, dry_run=dry_run)
    if no_wait:
        emit_one(fmt, {"id": execution}, str(execution))
        return
    done = wait_execution(harbor(), project, execution)
    results = [r for r in _results(harbor, project, execution)
               if show_all or r["action"] != "RETAIN"]  # fmt: skip
    emit_list(fmt, ["REPOSITORY", "DIGEST", "TAGS", "RESULT"], results,
              lambda r: [r["repository"], r["digest"], ",".join(r["tags"]), r["action"]])  # fmt: skip
    if fmt != "json":
        verb = "would delete" if dry_run else "deleted"
        gone = sum(1 for r in results if r["action"] == "DEL")
        click.echo(f"run {execution}: {done.get('status')}; {verb} {gone} artifact(s)", err=True)
    if done.get("status") not in ("Success",):
        raise SystemExit(1)


@retention_group.command("executions")
@click.argument("project")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@api_options
def executions_cmd(project: str, limit: int, harbor: Connector, fmt: str) -> None:
    """List PROJECT's retention runs, newest first."""
    rows = list_executions(harbor(), project, limit=limit)
    emit_list(
        fmt,
        ["ID", "STATUS", "TRIGGER", "DRY RUN", "STARTED"],
        rows,
        lambda e: [str(e["id"]), e["status"], e["trigger"], "yes" if e["dry_run"] else "no",
                   ago(e.get("start_time", ""))],
    )  # fmt: skip
