"""The jobs page (``/admin/jobs``): the state of the registry's background work in one place —
scan all's latest run and schedule (with Scan all now and a schedule form), the latest
garbage collections, replication executions, and, project by project (a page of
:data:`PROJECTS_A_PAGE`), the latest retention run and each webhook's latest delivery — each
row linking to the page with its log. Every call is ``/api/v2.0`` as the signed-in user: the
GC and replication calls answer 403 to anyone but a system administrator, so nobody else
gets the page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import DockyardError
from dockyard.registry.console._calls import segment
from dockyard.registry.console._gc import SCHEDULE_TYPES, schedule_of
from dockyard.registry.console._html import e, href, page, table
from dockyard.registry.console._paging import Paging, pager
from dockyard.registry.console._robots import Ask

__all__ = [
    "GC_SHOWN",
    "PROJECTS_A_PAGE",
    "REPLICATIONS_SHOWN",
    "Jobs",
    "Scans",
    "jobs",
    "jobs_page",
    "scan_all_now",
    "set_scan_all_schedule",
    "stop_scan_all",
]

GC_SHOWN = 5
REPLICATIONS_SHOWN = 10
#: projects per page of the jobs page (each costs a call or two for its retention and
#: webhooks, and one per webhook)
PROJECTS_A_PAGE = 20
#: webhooks shown per project (a project may have more: its policies page lists them all)
WEBHOOKS_SHOWN = 10


@dataclass(frozen=True, slots=True)
class ProjectJobs:
    name: str
    retention_id: int | None
    retention: dict[str, Any] | None  # the latest run, if any
    webhooks: list[tuple[dict[str, Any], dict[str, Any] | None]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Scans:
    """Scan all's latest run (Harbor's ``Stats``) and its schedule, or why there are none
    (``unavailable``: the API's message, e.g. a registry that does not scan)."""

    metrics: dict[str, Any] | None
    schedule: dict[str, Any] | None
    unavailable: str = ""


@dataclass(frozen=True, slots=True)
class Jobs:
    scans: Scans
    gc: list[dict[str, Any]]
    gc_total: int
    replication: list[dict[str, Any]]
    replication_total: int
    projects: list[ProjectJobs]
    projects_total: int


def _retention_id(project: dict[str, Any]) -> int | None:
    raw = str((project.get("metadata") or {}).get("retention_id") or "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


def _first(answer: Any) -> dict[str, Any] | None:
    found = answer.json
    return found[0] if isinstance(found, list) and found and isinstance(found[0], dict) else None


async def _scans(ask: Ask) -> Scans:
    try:
        metrics = (await ask("GET", "/scans/all/metrics")).json
        schedule = (await ask("GET", "/system/scanAll/schedule")).json
    except DockyardError as exc:
        return Scans(None, None, exc.message)
    return Scans(
        metrics if isinstance(metrics, dict) else None,
        schedule.get("schedule") if isinstance(schedule, dict) else None,
    )


async def scan_all_now(ask: Ask) -> None:
    """Scan every image now, as one run (the API answers 409 while one goes on)."""
    await ask("POST", "/system/scanAll/schedule", None, {"schedule": {"type": "Manual"}})


async def stop_scan_all(ask: Ask) -> None:
    """Stop the latest scan all: its scans not finished turn Stopped."""
    await ask("POST", "/system/scanAll/stop")


async def set_scan_all_schedule(ask: Ask, form: dict[str, str]) -> None:
    """Scan all's schedule: one of :data:`SCHEDULE_TYPES` (None removes it), a cron for
    Custom (the API says what is wrong with a bad one)."""
    await ask("PUT", "/system/scanAll/schedule", None, {"schedule": schedule_of(form)})


async def jobs(ask: Ask, at: Paging) -> Jobs:
    scans = await _scans(ask)
    gc = await ask("GET", "/system/gc", {"page_size": str(GC_SHOWN)})
    replication = await ask("GET", "/replication/executions",
                            {"page_size": str(REPLICATIONS_SHOWN)})  # fmt: skip
    listed = await ask("GET", "/projects", at.query())
    projects = []
    for project in listed.json or ():
        name = str(project.get("name", ""))
        retention_id = _retention_id(project)
        latest = None
        if retention_id is not None:
            latest = _first(await ask("GET", f"/retentions/{retention_id}/executions",
                                      {"page_size": "1"}))  # fmt: skip
        base = f"/projects/{segment(name)}/webhook/policies"
        hooks = await ask("GET", base, {"page_size": str(WEBHOOKS_SHOWN)})
        webhooks = []
        for hook in hooks.json or ():
            last = await ask("GET", f"{base}/{_id(hook)}/executions", {"page_size": "1"})
            webhooks.append((hook, _first(last)))
        projects.append(ProjectJobs(name, retention_id, latest, webhooks))
    gc_rows, rep_rows = list(gc.json or []), list(replication.json or [])
    return Jobs(
        scans,
        gc_rows,
        gc.total if gc.total is not None else len(gc_rows),
        rep_rows,
        replication.total if replication.total is not None else len(rep_rows),
        projects,
        listed.total if listed.total is not None else len(projects),
    )


def _status(value: object) -> str:
    text = str(value or "")
    return f'<span class="status">{e(text)}</span>' if text else "none yet"


def _id(row: dict[str, Any]) -> int:
    raw = row.get("id", 0)
    return raw if isinstance(raw, int) else 0


def _a(path: str, text: object) -> str:
    return f'<a href="{href(path)}">{e(text)}</a>'


def _project_row(p: ProjectJobs) -> list[str]:
    here = f"/projects/{segment(p.name)}"
    if p.retention is not None:
        run = p.retention
        kind = " (dry run)" if run.get("dry_run") else ""
        retention = (
            _a(f"{here}/retention/runs/{_id(run)}", f"run {_id(run)}")
            + f"{e(kind)}: {_status(run.get('status'))}, {e(run.get('start_time', ''))}"
        )
    else:
        retention = "no runs" if p.retention_id is not None else "no policy"
    hooks = []
    for hook, last in p.webhooks:
        state = (
            f"{_status(last.get('status'))}, {e(last.get('start_time', ''))}"
            if last is not None
            else "no deliveries"
        )
        link = _a(f"{here}/webhooks/{_id(hook)}", hook.get("name", ""))
        hooks.append(f"<li>{link}: {state}</li>")
    webhooks = f"<ul>{''.join(hooks)}</ul>" if hooks else "no webhooks"
    return [_a(here + "/policies", p.name), retention, webhooks]


def _scans_section(scans: Scans, csrf: str) -> str:
    if scans.metrics is None:
        return f'<h2>Vulnerability scans</h2><p id="scan-all">{e(scans.unavailable)}</p>'
    m = scans.metrics
    by_status = m.get("metrics") or {}
    counts = ", ".join(f"{e(k)} {e(v)}" for k, v in sorted(by_status.items())) or "none"
    if not m.get("total"):
        state = "No scan of every image has run yet."
    else:
        state = (
            f"{'Running' if m.get('ongoing') else 'Done'}: {e(m.get('completed', 0))} of "
            f"{e(m.get('total', 0))} images ({counts}); started by {e(m.get('trigger', ''))}."
        )
    schedule = scans.schedule or {}
    kind = str(schedule.get("type") or "None")
    cron = str(schedule.get("cron") or "")
    now = (
        "No schedule."
        if kind == "None"
        else f"{kind} (cron {cron}); next run {schedule.get('next_scheduled_time', '')}"
    )
    options = "".join(
        f'<option value="{t}"{" selected" if t == kind else ""}>{t}</option>'
        for t in SCHEDULE_TYPES
    )
    token = f'<input type="hidden" name="csrf" value="{e(csrf)}">'
    stop = (
        f'<form class="card" method="post" action="/admin/jobs/scan-all/stop">{token}'
        "<p>Stop this run: the scans not finished yet are stopped (their images keep their "
        'last report).</p><button type="submit">Stop the scan all</button></form>'
        if m.get("ongoing")
        else ""
    )
    return (
        f'<h2>Vulnerability scans</h2><p id="scan-all">{state}</p>{stop}'
        f'<form class="card" method="post" action="/admin/jobs/scan-all">{token}'
        "<p>Scan every image again with the current vulnerability database (images are "
        'scanned on push too).</p><button type="submit">Scan all now</button></form>'
        f'<p id="scan-all-schedule">Schedule: {e(now)}</p>'
        f'<form class="card" method="post" action="/admin/jobs/scan-all/schedule">{token}'
        f'<label for="scan-type">Scan all</label><select id="scan-type" name="type">{options}'
        "</select>"
        '<label for="scan-cron">Cron for Custom (6 fields: seconds minutes hours day month '
        "weekday)</label>"
        f'<input id="scan-cron" name="cron" value="{e(cron if kind == "Custom" else "")}" '
        'placeholder="0 0 3 * * *">'
        '<p><button type="submit">Save scan schedule</button></p></form>'
    )


def jobs_page(found: Jobs, at: Paging, *, user: str, csrf: str) -> bytes:
    gc_rows = [
        [_a(f"/admin/gc/{_id(r)}", _id(r)), _status(r.get("job_status")),
         e(r.get("job_kind", "")), e(r.get("creation_time", "")), e(r.get("update_time", ""))]
        for r in found.gc
    ]  # fmt: skip
    rep_rows = [
        [_a(f"/admin/replication/executions/{_id(r)}", _id(r)), e(r.get("policy_id", "")),
         _status(r.get("status")), e(r.get("trigger", "")),
         e(f"{r.get('succeed', 0)} of {r.get('total', 0)}, {r.get('failed', 0)} failed"),
         e(r.get("start_time", ""))]
        for r in found.replication
    ]  # fmt: skip
    project_rows = [_project_row(p) for p in found.projects]
    more = pager("/admin/jobs", {}, at, found.projects_total, "projects")
    body = (
        "<p>The latest run of each kind of background work, each linked to its log; an "
        "artifact's page shows its scan report.</p>"
        + _scans_section(found.scans, csrf)
        + table(f"Garbage collection (latest {len(found.gc)} of {found.gc_total})",
                ["Run", "Status", "Kind", "Started", "Updated"], gc_rows)
        + f"<p>{_a('/admin/gc', 'Garbage collection: schedule and run')}</p>"
        + table(f"Replication executions (latest {len(found.replication)} of "
                f"{found.replication_total})",
                ["Execution", "Policy", "Status", "Trigger", "Tasks", "Started"], rep_rows)
        + f"<p>{_a('/admin/replication', 'Replication: endpoints and policies')}</p>"
        + table("Retention and webhook deliveries by project",
                ["Project", "Latest retention run", "Webhooks: latest delivery"], project_rows)
        + more
    )  # fmt: skip
    return page("Jobs", body, user=user, csrf=csrf)
