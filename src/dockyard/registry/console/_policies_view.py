"""The policies pages (HTML from what the API answered): the project's retention rules with
their forms and history, one retention run's results, immutability rules, webhooks and a
webhook's delivery log. Every value goes through :func:`~._html.e`."""

from __future__ import annotations

from typing import Any

from dockyard.registry.console._html import e, href, page, table
from dockyard.registry.console._policies import (
    DECORATIONS,
    TEMPLATES,
    Policies,
    Retention,
    RetentionRun,
    WebhookLog,
)

__all__ = ["policies_page", "retention_run_page", "webhook_page"]

_RUN_HEADERS = ("Digest", "Tags", "Kind", "Labels", "Pushed", "Pulled", "Result")


def _csrf(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{e(token)}">'


def _link(path: str, text: object) -> str:
    return f'<a href="{href(path)}">{e(text)}</a>'


def _button(action: str, label: str, aria: str, csrf: str) -> str:
    return (
        f'<form method="post" class="inline" action="{action}">{_csrf(csrf)}'
        f'<button type="submit" aria-label="{e(aria)}">{e(label)}</button></form>'
    )


def _selector_text(selectors: object) -> str:
    words = {d: label for pairs in DECORATIONS.values() for d, label in pairs}
    out = []
    for s in selectors if isinstance(selectors, list) else ():
        if isinstance(s, dict):
            text = f"{words.get(str(s.get('decoration')), s.get('decoration'))} {s.get('pattern')}"
            extras = str(s.get("extras") or "")
            if '"untagged":true' in extras.replace(" ", ""):
                text += " (and untagged)"
            out.append(text)
    return ", ".join(out) or "all"


def _rule_text(rule: dict[str, Any]) -> str:
    template = str(rule.get("template", ""))
    text = next((t for k, t, _ in TEMPLATES if k == template), template)
    value = (rule.get("params") or {}).get(template)
    return text.replace("#", str(value)) if value is not None else text


def _options(pairs: tuple[tuple[str, str], ...], chosen: str) -> str:
    return "".join(
        f'<option value="{e(v)}"{" selected" if v == chosen else ""}>{e(label)}</option>'
        for v, label in pairs
    )


def _rule_form(project: str, csrf: str, rule: dict[str, Any] | None, index: int | None) -> str:
    rule = rule or {}
    template = str(rule.get("template") or "latestPushedK")
    value = (rule.get("params") or {}).get(template, 10)
    tag = ((rule.get("tag_selectors") or [{}]) or [{}])[0]
    repo = (((rule.get("scope_selectors") or {}).get("repository") or [{}]) or [{}])[0]
    untagged = '"untagged":true' in str(tag.get("extras") or "").replace(" ", "")
    templates = _options(tuple((k, t) for k, t, _ in TEMPLATES), template)
    title = "Add a retention rule" if index is None else f"Edit retention rule {index + 1}"
    return (
        f'<form class="card" id="rule-form" method="post" '
        f'action="{href(f"/projects/{project}/retention/rules")}">'
        f"<h3>{e(title)}</h3>{_csrf(csrf)}"
        f'<input type="hidden" name="index" value="{"" if index is None else index}">'
        f'<label for="template">Retain</label><select id="template" name="template">'
        f"{templates}</select>"
        '<label for="rule-value"># (a count or a number of days; not used by "always")</label>'
        f'<input id="rule-value" name="value" inputmode="numeric" value="{e(value)}">'
        "<fieldset><legend>Repositories</legend>"
        '<label for="repo_decoration">Which</label>'
        f'<select id="repo_decoration" name="repo_decoration">'
        f"{_options(DECORATIONS['repository'], str(repo.get('decoration') or 'repoMatches'))}"
        "</select>"
        '<label for="repo_pattern">Pattern (doublestar, e.g. <code>**</code> or '
        "<code>app/*</code>)</label>"
        f'<input id="repo_pattern" name="repo_pattern" value="{e(repo.get("pattern") or "**")}">'
        "</fieldset>"
        "<fieldset><legend>Tags</legend>"
        '<label for="tag_decoration">Which</label>'
        f'<select id="tag_decoration" name="tag_decoration">'
        f"{_options(DECORATIONS['tag'], str(tag.get('decoration') or 'matches'))}</select>"
        '<label for="tag_pattern">Pattern</label>'
        f'<input id="tag_pattern" name="tag_pattern" value="{e(tag.get("pattern") or "**")}">'
        f'<label><input type="checkbox" name="untagged" value="1"{" checked" if untagged else ""}>'
        " untagged artifacts too</label></fieldset>"
        '<p><button type="submit">Save rule</button></p></form>'
    )


def _retention(project: str, r: Retention, csrf: str, edit: int | None) -> str:
    base = f"/projects/{project}/retention"
    rows = []
    for i, rule in enumerate(r.rules):
        scopes = (rule.get("scope_selectors") or {}).get("repository")
        cells = [
            e(i + 1),
            e(_rule_text(rule)),
            e(_selector_text(scopes)),
            e(_selector_text(rule.get("tag_selectors"))),
        ]
        if r.manage:
            cells.append(
                f'<a href="{href(f"/projects/{project}/policies", edit=str(i))}#rule-form" '
                f'aria-label="Edit rule {i + 1}">Edit</a> '
                + _button(href(f"{base}/rules/{i}/delete"), "Delete", f"Delete rule {i + 1}", csrf)
            )
        rows.append(cells)
    headers = ["#", "Retain", "Repositories", "Tags"] + ([""] if r.manage else [])
    out = "<h2>Tag retention</h2>" + (
        '<p class="muted">What no rule retains is deleted when the policy runs; a dry run '
        "only shows what would be.</p>"
    )
    out += table("Retention rules", headers, rows)
    schedule = r.cron or "none (manual runs only)"
    out += f'<p>Schedule: <code id="retention-cron">{e(schedule)}</code></p>'
    if r.manage:
        editing: dict[str, Any] | None = (
            r.rules[edit] if edit is not None and 0 <= edit < len(r.rules) else None
        )
        out += _rule_form(project, csrf, editing, edit if editing is not None else None)
        if r.policy_id is not None:
            out += (
                f'<form class="card" method="post" action="{href(base + "/schedule")}">'
                f"<h3>Schedule</h3>{_csrf(csrf)}"
                '<label for="cron">Cron, 6 fields (seconds minutes hours day month weekday); '
                "empty: manual runs only</label>"
                f'<input id="cron" name="cron" value="{e(r.cron)}" placeholder="0 0 0 * * *">'
                '<p><button type="submit">Save schedule</button></p></form>'
                '<p class="copy">'
                + _button(
                    href(base + "/dry-run"), "Dry run", "Dry run of the retention rules", csrf
                )
                + " "
                + _button(href(base + "/run"), "Run now", "Run the retention rules now", csrf)
                + "</p>"
            )
    runs = [
        [
            _link(f"{base}/runs/{x.get('id')}", x.get("id")),
            "dry run" if x.get("dry_run") else "run",
            e(x.get("trigger", "")),
            e(x.get("status", "")),
            e(x.get("start_time", "")),
            e(x.get("end_time", "")),
        ]
        for x in r.executions
    ]
    out += table("Retention runs", ["Run", "Kind", "Trigger", "Status", "Started", "Ended"], runs)
    return out


def _selector_cell(rule: dict[str, Any]) -> tuple[str, str]:
    repos = (rule.get("scope_selectors") or {}).get("repository")
    return _selector_text(repos), _selector_text(rule.get("tag_selectors"))


def _immutable(project: str, rules: list[dict[str, Any]], manage: bool, csrf: str) -> str:
    rows = []
    for rule in rules:
        repos, tags = _selector_cell(rule)
        disabled = bool(rule.get("disabled"))
        cells = [e(rule.get("id", "")), e(repos), e(tags), "disabled" if disabled else "enabled"]
        if manage:
            base = f"/projects/{project}/immutable/{rule.get('id')}"
            switch = "enable" if disabled else "disable"
            cells.append(
                _button(
                    href(f"{base}/{switch}"),
                    switch.capitalize(),
                    f"{switch} immutability rule {rule.get('id')}",
                    csrf,
                )
                + " "
                + _button(
                    href(f"{base}/delete"),
                    "Delete",
                    f"Delete immutability rule {rule.get('id')}",
                    csrf,
                )
            )
        rows.append(cells)
    out = "<h2>Tag immutability</h2>"
    out += table("Immutability rules", ["Rule", "Repositories", "Tags", "State"]
                 + ([""] if manage else []), rows)  # fmt: skip
    if manage:
        out += (
            f'<form class="card" method="post" action="{href(f"/projects/{project}/immutable")}">'
            f"<h3>Add an immutability rule</h3>{_csrf(csrf)}"
            '<label for="imm_repo_decoration">Repositories</label>'
            '<select id="imm_repo_decoration" name="repo_decoration">'
            f"{_options(DECORATIONS['repository'], 'repoMatches')}</select>"
            '<label for="imm_repo_pattern">Repository pattern</label>'
            '<input id="imm_repo_pattern" name="repo_pattern" value="**">'
            '<label for="imm_tag_decoration">Tags</label>'
            '<select id="imm_tag_decoration" name="tag_decoration">'
            f"{_options(DECORATIONS['tag'], 'matches')}</select>"
            '<label for="imm_tag_pattern">Tag pattern</label>'
            '<input id="imm_tag_pattern" name="tag_pattern" required placeholder="v*">'
            '<p><button type="submit">Add immutability rule</button></p></form>'
        )
    return out


def _webhooks(project: str, p: Policies, csrf: str) -> str:
    rows = []
    for hook in p.webhooks or ():
        hid = hook.get("id")
        name = str(hook.get("name", ""))
        targets = ", ".join(str(t.get("address", "")) for t in hook.get("targets") or ())
        enabled = bool(hook.get("enabled"))
        cells = [
            f'<a href="{href(f"/projects/{project}/webhooks/{hid}")}">{e(name)}</a>',
            e(targets),
            e(", ".join(str(t) for t in hook.get("event_types") or ())),
            "enabled" if enabled else "disabled",
        ]
        if p.manage_webhooks:
            base = f"/projects/{project}/webhooks/{hid}"
            switch = "disable" if enabled else "enable"
            cells.append(
                _button(href(f"{base}/{switch}"), switch.capitalize(), f"{switch} {name}", csrf)
                + " "
                + _button(href(f"{base}/delete"), "Delete", f"Delete webhook {name}", csrf)
            )
        rows.append(cells)
    out = "<h2>Webhooks</h2>"
    out += table("Webhooks", ["Name", "Target", "Events", "State"]
                 + ([""] if p.manage_webhooks else []), rows)  # fmt: skip
    if p.manage_webhooks:
        boxes = "".join(
            f'<label><input type="checkbox" name="event_{e(t)}" value="1"> {e(t)}</label>'
            for t in p.event_types
        )
        out += (
            f'<form class="card" method="post" action="{href(f"/projects/{project}/webhooks")}">'
            f"<h3>Add a webhook</h3>{_csrf(csrf)}"
            '<label for="webhook_name">Name</label>'
            '<input id="webhook_name" name="webhook_name" required>'
            '<label for="webhook_address">Target address (http:// or https://)</label>'
            '<input id="webhook_address" name="address" type="url" required>'
            '<label for="webhook_auth">Authorization header (optional)</label>'
            '<input id="webhook_auth" name="auth_header" autocomplete="off">'
            '<label for="webhook_description">Description</label>'
            '<input id="webhook_description" name="description">'
            f"<fieldset><legend>Events</legend>{boxes}</fieldset>"
            '<p><button type="submit">Add webhook</button></p></form>'
        )
    return out


def policies_page(
    project: str, p: Policies, *, user: str, csrf: str, edit: int | None = None
) -> bytes:
    back = f'<p><a href="{href(f"/projects/{project}")}">Back to project {e(project)}</a></p>'
    body = back
    if p.retention is not None:
        body += _retention(project, p.retention, csrf, edit)
    if p.immutable is not None:
        body += _immutable(project, p.immutable, p.manage_immutable, csrf)
    if p.webhooks is not None:
        body += _webhooks(project, p, csrf)
    if p.retention is None and p.immutable is None and p.webhooks is None:
        body += "<p>You may not see any of this project's policies.</p>"
    return page(f"Policies of {project}", body, user=user, csrf=csrf)


def retention_run_page(project: str, run: RetentionRun, *, user: str, csrf: str) -> bytes:
    x = run.execution
    status = str(x.get("status", ""))
    kind = "dry run" if x.get("dry_run") else "run"
    body = (
        f'<p><a href="{href(f"/projects/{project}/policies")}">Back to the policies</a></p>'
        f'<p>Status: <strong id="run-status">{e(status or "unknown")}</strong> · {e(kind)} · '
        f"started {e(x.get('start_time', ''))}"
        + (f" · ended {e(x['end_time'])}" if x.get("end_time") else "")
        + "</p>"
    )
    if status in ("Pending", "Running"):
        body += (
            "<p>Still running: "
            + _link(f"/projects/{project}/retention/runs/{x['id']}", "reload")
            + " to see the results.</p>"
        )
    if x.get("dry_run"):
        body += '<p class="muted">A dry run: nothing was deleted.</p>'
    for task, rows in run.tasks:
        repo = str(task.get("repository", ""))
        caption = (
            f"{repo}: {task.get('status', '')}, {task.get('retained', 0)} of "
            f"{task.get('total', 0)} retained"
        )
        cells = [
            [f'<code title="{e(row[0])}">{e(row[0][:19])}</code>', *(e(c) for c in row[1:])]
            for row in rows
        ]
        body += table(caption, _RUN_HEADERS, cells)
    if not run.tasks:
        body += "<p>No repository was in scope (yet).</p>"
    if run.more_tasks:
        body += f"<p>{e(run.more_tasks)} more repositories are not shown.</p>"
    return page(f"Retention {kind} {x.get('id', '')} of {project}", body, user=user, csrf=csrf)


def webhook_page(project: str, log: WebhookLog, *, user: str, csrf: str) -> bytes:
    policy = log.policy
    targets = [str(t.get("address", "")) for t in policy.get("targets") or ()]
    body = (
        f'<p><a href="{href(f"/projects/{project}/policies")}">Back to the policies</a></p>'
        f"<p>Targets: {e(', '.join(targets))}<br>Events: "
        f"{e(', '.join(str(t) for t in policy.get('event_types') or ()))}<br>"
        f"{'enabled' if policy.get('enabled') else 'disabled'}</p>"
    )
    rows = []
    for execution, tasks in log.executions:
        event = ((execution.get("extra_attrs") or {}).get("event") or {}).get("type", "")
        for task, attempts in tasks or [({}, [])]:
            address = ((task.get("extra_attrs") or {}).get("target") or {}).get("address", "")
            tried = "".join(f"<li>{e(line)}</li>" for line in attempts)
            rows.append(
                [
                    e(execution.get("id", "")),
                    e(event),
                    e(address),
                    e(task.get("status", execution.get("status", ""))),
                    e(task.get("run_count", 0)),
                    f"<ol>{tried}</ol>" if tried else "",
                    e(task.get("update_time") or execution.get("start_time", "")),
                ]
            )
    body += table(
        "Deliveries",
        ["Event", "Type", "Target", "Status", "Attempts", "Each attempt", "Updated"],
        rows,
    )
    if log.total > len(log.executions):
        body += f"<p>The newest {len(log.executions)} of {e(log.total)} events.</p>"
    return page(f"Webhook {policy.get('name', '')}", body, user=user, csrf=csrf)
