"""The replication pages (HTML from what ``/registries`` and ``/replication/…`` answered).
A registry's secret is never part of a page: the API answers its mask, and the form's
password field is always empty."""

from __future__ import annotations

from typing import Any

from dockyard.registry.console._html import e, href, page, table
from dockyard.registry.console._replication import (
    DIRECTIONS,
    TRIGGERS,
    ExecutionPage,
    ReplicationPage,
)

__all__ = ["execution_view", "replication_view"]

BASE = "/admin/replication"
_TRIGGER_TEXT = {"manual": "manual", "event_based": "on push (event based)",
                 "scheduled": "scheduled (cron)"}  # fmt: skip


def _csrf(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{e(token)}">'


def _button(action: str, text: str, csrf: str, label: str) -> str:
    return (f'<form method="post" class="inline" action="{href(action)}">{_csrf(csrf)}'
            f'<button type="submit" aria-label="{e(label)}">{e(text)}</button></form>')  # fmt: skip


def _filters(policy: dict[str, Any]) -> str:
    parts = []
    for f in policy.get("filters") or ():
        value = f.get("value")
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        verb = "not " if f.get("decoration") == "excludes" else ""
        parts.append(f"{f.get('type', '')} {verb}{shown}")
    return e("; ".join(parts) or "everything")


def _endpoint(policy: dict[str, Any]) -> str:
    src, dest = policy.get("src_registry") or {}, policy.get("dest_registry") or {}
    if src.get("id"):
        return f"pull from {e(src.get('name', src.get('id')))}"
    return f"push to {e(dest.get('name', dest.get('id')))}"


def _trigger(policy: dict[str, Any]) -> str:
    trigger = policy.get("trigger") or {}
    kind = str(trigger.get("type", ""))
    text = _TRIGGER_TEXT.get(kind, kind)
    cron = (trigger.get("trigger_settings") or {}).get("cron")
    return e(f"{text} {cron}" if kind == "scheduled" and cron else text)


def _registries(found: ReplicationPage, csrf: str) -> str:
    rows = []
    for r in found.registries:
        rid, name = r.get("id"), str(r.get("name", ""))
        key = (r.get("credential") or {}).get("access_key") or "(anonymous)"
        rows.append([
            e(name), e(r.get("type", "")), f"<code>{e(r.get('url', ''))}</code>",
            e(key) + (" · TLS not verified" if r.get("insecure") else ""),
            _button(f"{BASE}/registries/{rid}/ping", "Test connection", csrf,
                    f"Test the connection to {name}")
            + " " + _button(f"{BASE}/registries/{rid}/delete", "Delete", csrf,
                            f"Delete registry {name}"),
        ])  # fmt: skip
    body = table("Endpoint registries", ["Name", "Type", "URL", "User", "Actions"], rows)
    if found.connection is not None:
        c = found.connection
        state = "succeeded" if c.ok else "failed"
        body = (
            f'<p role="status" id="connection" class="{"" if c.ok else "error"}">'
            f"Connection to {e(c.registry)} {state}: {e(c.message)}</p>" + body
        )
    return (
        "<h2>Endpoint registries</h2>" + body
        + f'<form class="card" method="post" action="{BASE}/registries">{_csrf(csrf)}'
        "<h3>Add a registry</h3>"
        '<label for="reg-name">Name</label><input id="reg-name" name="name" required>'
        '<label for="reg-type">Type</label><select id="reg-type" name="type">'
        '<option value="docker-registry">Docker registry (distribution)</option>'
        '<option value="harbor">Harbor</option></select>'
        '<label for="reg-url">URL (http(s)://host[:port])</label>'
        '<input id="reg-url" name="url" type="url" required placeholder="https://registry.example">'
        '<label for="reg-key">User (access key)</label>'
        '<input id="reg-key" name="access_key" autocomplete="off">'
        '<label for="reg-secret">Password (access secret; never shown again)</label>'
        '<input id="reg-secret" name="access_secret" type="password" autocomplete="new-password">'
        '<label for="reg-description">Description</label>'
        '<input id="reg-description" name="description">'
        '<label><input type="checkbox" name="insecure" value="1"> do not verify its TLS '
        "certificate</label>"
        '<p><button type="submit">Add and test the connection</button></p></form>'
    )  # fmt: skip


def _policies(found: ReplicationPage, csrf: str) -> str:
    rows = []
    for p in found.policies:
        pid, name, enabled = p.get("id"), str(p.get("name", "")), bool(p.get("enabled"))
        switch = "disable" if enabled else "enable"
        rows.append([
            e(name), _endpoint(p), _filters(p), _trigger(p),
            e(p.get("dest_namespace") or "(same path)"),
            "yes" if p.get("replicate_deletion") else "no",
            "enabled" if enabled else "disabled",
            _button(f"{BASE}/policies/{pid}/run", "Replicate now", csrf, f"Replicate {name} now")
            + " " + _button(f"{BASE}/policies/{pid}/{switch}", switch.capitalize(), csrf,
                            f"{switch.capitalize()} policy {name}")
            + " " + _button(f"{BASE}/policies/{pid}/delete", "Delete", csrf,
                            f"Delete policy {name}"),
        ])  # fmt: skip
    body = table("Replication policies", ["Name", "Endpoint", "Filters", "Trigger",
                 "Namespace", "Deletions", "State", "Actions"], rows)  # fmt: skip
    if not found.registries:
        return "<h2>Replication policies</h2>" + body + "<p>Add a registry to make a policy.</p>"
    registries = "".join(
        f'<option value="{e(r.get("id"))}">{e(r.get("name", ""))}</option>'
        for r in found.registries
    )
    directions = "".join(
        f'<option value="{d}">{"push to the registry" if d == "push" else "pull from it"}</option>'
        for d in DIRECTIONS
    )
    triggers = "".join(f'<option value="{t}">{e(_TRIGGER_TEXT[t])}</option>' for t in TRIGGERS)
    decorations = '<option value="matches">matching</option><option value="excludes">' \
        "excluding</option>"  # fmt: skip
    return (
        "<h2>Replication policies</h2>" + body
        + f'<form class="card" method="post" action="{BASE}/policies">{_csrf(csrf)}'
        "<h3>Add a policy</h3>"
        '<label for="pol-name">Name</label><input id="pol-name" name="name" required>'
        '<label for="pol-description">Description</label>'
        '<input id="pol-description" name="description">'
        f'<label for="pol-registry">Endpoint registry</label>'
        f'<select id="pol-registry" name="registry">{registries}</select>'
        f'<label for="pol-direction">Direction</label>'
        f'<select id="pol-direction" name="direction">{directions}</select>'
        '<fieldset><legend>Filters (all must hold; empty: everything)</legend>'
        '<label for="pol-name-filter">Repositories (e.g. library/** or {a,b}/*)</label>'
        '<input id="pol-name-filter" name="name_filter">'
        '<label for="pol-tag-filter">Tags (e.g. v*)</label><input id="pol-tag-filter" '
        'name="tag_filter"><label for="pol-tag-decoration">Tags are</label>'
        f'<select id="pol-tag-decoration" name="tag_decoration">{decorations}</select>'
        '<label for="pol-label-filter">Labels, comma separated (e.g. tier=prod, team)</label>'
        '<input id="pol-label-filter" name="label_filter">'
        '<label for="pol-label-decoration">Labels are</label>'
        f'<select id="pol-label-decoration" name="label_decoration">{decorations}</select>'
        '<label for="pol-resource">Resources</label><select id="pol-resource" name="resource">'
        '<option value="artifact">every artifact</option>'
        '<option value="image">container images only</option></select></fieldset>'
        f'<label for="pol-trigger">Trigger</label>'
        f'<select id="pol-trigger" name="trigger">{triggers}</select>'
        '<label for="pol-cron">Cron for scheduled (6 fields: seconds minutes hours day month '
        'weekday)</label><input id="pol-cron" name="cron" placeholder="0 0 2 * * *">'
        '<label for="pol-namespace">Destination namespace (empty: the same path)</label>'
        '<input id="pol-namespace" name="dest_namespace">'
        '<label for="pol-count">Path components it replaces (-1: all but the last)</label>'
        '<input id="pol-count" name="dest_namespace_replace_count" inputmode="numeric" '
        'value="-1">'
        '<label for="pol-speed">Speed limit in KB/s (-1: none)</label>'
        '<input id="pol-speed" name="speed" inputmode="numeric" value="-1">'
        '<label><input type="checkbox" name="replicate_deletion" value="1"> replicate '
        "deletions (push, on push)</label>"
        '<label><input type="checkbox" name="override" value="1" checked> overwrite tags '
        "that name another digest there</label>"
        '<label><input type="checkbox" name="enabled" value="1" checked> enabled</label>'
        '<p><button type="submit">Add the policy</button></p></form>'
    )  # fmt: skip


def _counts(x: dict[str, Any]) -> str:
    return e(f"{x.get('succeed', 0)} of {x.get('total', 0)} succeeded, {x.get('failed', 0)} "
             f"failed, {x.get('in_progress', 0)} in progress, {x.get('stopped', 0)} stopped")  # fmt: skip


def _execution_link(x: dict[str, Any]) -> str:
    return f'<a href="{href(BASE + "/executions/" + str(x.get("id")))}">{e(x.get("id"))}</a>'


def _executions(found: ReplicationPage) -> str:
    names = {p.get("id"): str(p.get("name", "")) for p in found.policies}
    rows = [
        [
            _execution_link(x),
            e(names.get(x.get("policy_id"), f"policy {x.get('policy_id')}")),
            e(x.get("trigger", "")), e(x.get("status", "")), _counts(x),
            e(x.get("start_time", "")), e(x.get("end_time", "")),
        ]
        for x in found.executions
    ]  # fmt: skip
    body = table("Executions", ["Execution", "Policy", "Trigger", "Status", "Tasks",
                                "Started", "Ended"], rows)  # fmt: skip
    if found.executions_total > len(found.executions):
        body += f"<p>The newest {len(found.executions)} of {e(found.executions_total)}.</p>"
    return "<h2>Executions</h2>" + body


def replication_view(found: ReplicationPage, *, user: str, csrf: str) -> bytes:
    body = (
        "<p>Copy artifacts to and from other registries (Harbor's replication; see the API "
        "at <code>/api/v2.0/replication</code>).</p>"
        + _registries(found, csrf) + _policies(found, csrf) + _executions(found)
    )  # fmt: skip
    return page("Replication", body, user=user, csrf=csrf)


def execution_view(found: ExecutionPage, *, user: str, csrf: str) -> bytes:
    x = found.execution
    xid, status = x.get("id"), str(x.get("status", ""))
    body = (
        f'<p><a href="{BASE}">Back to replication</a></p>'
        f'<p>Status: <strong id="exec-status">{e(status)}</strong> · policy '
        f"{e(found.policy_name or x.get('policy_id', ''))} · {e(x.get('trigger', ''))} · "
        f"started {e(x.get('start_time', ''))}"
        + (f", ended {e(x['end_time'])}" if x.get("end_time") else "")
        + f"</p><p>{_counts(x)}</p>"
    )  # fmt: skip
    if x.get("status_text"):
        body += f"<p>{e(x['status_text'])}</p>"
    if status == "InProgress":
        body += (_button(f"{BASE}/executions/{xid}/stop", "Stop", csrf, "Stop this execution")
                 + f' <a href="{href(f"{BASE}/executions/{xid}")}">Reload</a>')  # fmt: skip
    rows = [
        [
            e(t.get("id", "")), e(t.get("operation", "")), f"<code>{e(t.get('src_resource', ''))}"
            "</code>", f"<code>{e(t.get('dst_resource', ''))}</code>", e(t.get("status", "")),
            e(t.get("start_time", "")), e(t.get("end_time", "")),
        ]
        for t in found.tasks
    ]  # fmt: skip
    body += table("Tasks", ["Task", "Operation", "Source", "Destination", "Status", "Started",
                            "Ended"], rows)  # fmt: skip
    if found.tasks_total > len(found.tasks):
        body += f"<p>The first {len(found.tasks)} of {e(found.tasks_total)} tasks.</p>"
    if found.logs:
        body += "<h2>Logs</h2>"
        if len(found.logs) < len(found.tasks):
            body += f'<p class="muted">The logs of the first {len(found.logs)} tasks.</p>'
    for task_id, log in found.logs.items():
        body += (f"<h3>Task {e(task_id)}</h3>"
                 f'<pre id="task-log-{e(task_id)}" tabindex="0">{e(log) or "(empty)"}</pre>')  # fmt: skip
    return page(f"Replication execution {xid}", body, user=user, csrf=csrf)
