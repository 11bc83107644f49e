"""The garbage collection pages (HTML from what ``/system/gc`` answered)."""

from __future__ import annotations

import json
from typing import Any

from dockyard.registry.console._gc import SCHEDULE_TYPES, GcPage, GcRunPage
from dockyard.registry.console._html import e, href, page, table

__all__ = ["gc_page", "gc_run_page"]


def _csrf(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{e(token)}">'


def _link(path: str, text: object) -> str:
    return f'<a href="{href(path)}">{e(text)}</a>'


def _parameters(run: dict[str, Any]) -> dict[str, Any]:
    try:
        found = json.loads(str(run.get("job_parameters") or "{}"))
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def gc_page(gc: GcPage, *, user: str, csrf: str) -> bytes:
    schedule = gc.schedule or {}
    obj = schedule.get("schedule") or {}
    kind = str(obj.get("type") or "None")
    cron = str(obj.get("cron") or "")
    params = _parameters(schedule)
    if gc.schedule is None:
        now = "No schedule: garbage collection runs only when started here or by the API."
    else:
        now = (f"{kind} (cron {cron}); next run {obj.get('next_scheduled_time', '')}"
               + ("; deletes untagged artifacts" if params.get("delete_untagged") else ""))  # fmt: skip
    options = "".join(
        f'<option value="{t}"{" selected" if t == kind else ""}>{t}</option>'
        for t in SCHEDULE_TYPES
    )
    body = (
        f'<h2>Schedule</h2><p id="gc-schedule">{e(now)}</p>'
        f'<form class="card" method="post" action="/admin/gc/schedule">{_csrf(csrf)}'
        f'<label for="gc-type">Runs</label><select id="gc-type" name="type">{options}</select>'
        '<label for="gc-cron">Cron for Custom (6 fields: seconds minutes hours day month '
        "weekday)</label>"
        f'<input id="gc-cron" name="cron" value="{e(cron if kind == "Custom" else "")}" '
        'placeholder="0 0 3 * * *">'
        '<label><input type="checkbox" name="delete_untagged" value="1"'
        f"{' checked' if params.get('delete_untagged') else ''}> delete untagged artifacts</label>"
        '<p><button type="submit">Save schedule</button></p></form>'
        f'<h2>Run now</h2><form class="card" method="post" action="/admin/gc/run">{_csrf(csrf)}'
        '<label><input type="checkbox" name="dry_run" value="1" id="gc-dry-run"> dry run '
        "(count what would be deleted, delete nothing)</label>"
        '<label><input type="checkbox" name="delete_untagged" value="1"> delete untagged '
        "artifacts</label>"
        '<p><button type="submit">Run garbage collection</button></p></form>'
    )
    rows = []
    for run in gc.history:
        p = _parameters(run)
        rows.append(
            [
                _link(f"/admin/gc/{run.get('id')}", run.get("id")),
                e(run.get("job_kind", "")),
                "dry run" if p.get("dry_run") else "run",
                e(run.get("job_status", "")),
                e(run.get("creation_time", "")),
                e(run.get("update_time", "")),
            ]
        )
    body += table("Garbage collection runs",
                  ["Run", "Trigger", "Kind", "Status", "Started", "Updated"], rows)  # fmt: skip
    if gc.total > len(gc.history):
        body += f"<p>The newest {len(gc.history)} of {e(gc.total)} runs.</p>"
    return page("Garbage collection", body, user=user, csrf=csrf)


def gc_run_page(gc: GcRunPage, *, user: str, csrf: str) -> bytes:
    run = gc.run
    status = str(run.get("job_status", ""))
    p = _parameters(run)
    body = (
        '<p><a href="/admin/gc">Back to garbage collection</a></p>'
        f'<p>Status: <strong id="gc-status">{e(status)}</strong> · '
        f"{'dry run' if p.get('dry_run') else 'run'} · {e(run.get('job_kind', ''))} · "
        f"started {e(run.get('creation_time', ''))}, updated {e(run.get('update_time', ''))}</p>"
    )
    if status in ("Pending", "Running"):
        rid = run.get("id")
        body += (
            f'<form method="post" class="inline" action="{href(f"/admin/gc/{rid}/stop")}">'
            f'{_csrf(csrf)}<button type="submit">Stop</button></form> '
            f'<a href="{href(f"/admin/gc/{rid}")}">Reload</a>'
        )
    body += "<h2>Log</h2>"
    if gc.truncated:
        body += '<p class="muted">The log\'s last 200,000 characters.</p>'
    body += f'<pre id="gc-log" tabindex="0">{e(gc.log) or "(empty)"}</pre>'
    return page(f"Garbage collection run {run.get('id', '')}", body, user=user, csrf=csrf)
