"""The project page's robot and quota sections (HTML from what the API answered), and the
card that shows a new robot's secret once."""

from __future__ import annotations

import time
from typing import Any

from dockyard.registry.console._html import e, href, table
from dockyard.registry.console._robots import ACCESS_SETS, CreatedRobot, ProjectExtras, Quota
from dockyard.registry.console._views import size_text

__all__ = ["created_robot_card", "policies_link", "quota_section", "robots_section"]


def policies_link(project: str) -> str:
    return (
        f'<p><a href="{href(f"/projects/{project}/policies")}">Policies</a>: tag retention, '
        "tag immutability, webhooks</p>"
    )


def _csrf(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{e(token)}">'


def _expires(value: object) -> str:
    if not isinstance(value, int) or value < 0:
        return "never"
    when = time.strftime("%Y-%m-%d", time.gmtime(value))
    return f"{when} (expired)" if value <= time.time() else when


def _can_do(robot: dict[str, Any]) -> str:
    held = {
        (a.get("resource"), a.get("action"))
        for p in robot.get("permissions") or ()
        for a in p.get("access") or ()
    }
    names = [label for _, label, pairs in ACCESS_SETS if all(x in held for x in pairs)]
    return ", ".join(names) or f"{len(held)} accesses"


def _button(action: str, label: str, aria: str, csrf: str) -> str:
    return (
        f'<form method="post" class="inline" action="{action}">{_csrf(csrf)}'
        f'<button type="submit" aria-label="{e(aria)}">{e(label)}</button></form>'
    )


def robots_section(project: str, extras: ProjectExtras, csrf: str) -> str:
    if extras.robots is None:
        return ""
    rows = []
    for robot in extras.robots:
        name = str(robot.get("name", ""))
        disabled = bool(robot.get("disable"))
        cells = [
            e(name),
            e(robot.get("description", "")),
            e(_can_do(robot)),
            e(_expires(robot.get("expires_at"))),
            "disabled" if disabled else "enabled",
        ]
        if extras.manage_robots:
            base = f"/projects/{project}/robots/{robot.get('id')}"
            switch = "enable" if disabled else "disable"
            cells.append(
                _button(href(f"{base}/{switch}"), switch.capitalize(), f"{switch} {name}", csrf)
                + " "
                + _button(href(f"{base}/delete"), "Delete", f"Delete {name}", csrf)
            )
        rows.append(cells)
    headers = ["Name", "Description", "May", "Expires", "State"]
    out = table("Robot accounts", headers + ([""] if extras.manage_robots else []), rows)
    if extras.manage_robots:
        boxes = "".join(
            f'<label><input type="checkbox" name="access_{key}" value="1"'
            f"{' checked' if key == 'pull' else ''}> {e(label)}</label>"
            for key, label, _ in ACCESS_SETS
        )
        out += (
            f'<form class="card" method="post" action="{href(f"/projects/{project}/robots")}">'
            "<h2>New robot account</h2>" + _csrf(csrf) + '<label for="robot_name">Name</label>'
            '<input id="robot_name" name="robot_name" required pattern="[a-z0-9][a-z0-9._\\-]*">'
            '<label for="robot_description">Description</label>'
            '<input id="robot_description" name="description">'
            '<label for="robot_duration">Expires after (days, -1 for never)</label>'
            '<input id="robot_duration" name="duration" type="number" min="-1" value="30">'
            f"<fieldset><legend>It may</legend>{boxes}</fieldset>"
            '<p><button type="submit">Create robot</button></p></form>'
        )
    return out


def created_robot_card(robot: CreatedRobot) -> str:
    """The secret, shown this once (the API never answers it again)."""
    return (
        '<div class="card" role="status"><h2>Robot account created</h2>'
        f"<p>Copy the secret of <strong>{e(robot.name)}</strong> now: it is not shown again.</p>"
        '<label for="robot-secret">Secret</label><div class="copy">'
        f'<input id="robot-secret" readonly value="{e(robot.secret)}">'
        '<button type="button" data-copy="robot-secret">Copy</button></div>'
        '<label for="robot-login">Log in with it</label><div class="copy">'
        f'<input id="robot-login" readonly value="{e(f"docker login -u {robot.name!r}")}">'
        '<button type="button" data-copy="robot-login">Copy</button></div></div>'
    )


def _bar(quota: Quota) -> str:
    if quota.hard < 0:
        return ""
    limit = max(quota.hard, 1)
    return (
        f'<meter id="quota-meter" min="0" max="{limit}" value="{min(quota.used, limit)}" '
        f'low="{limit * 7 // 10}" high="{limit * 9 // 10}" optimum="0" '
        f'aria-label="Storage used of the limit">{e(_percent(quota))}</meter>'
    )


def _percent(quota: Quota) -> str:
    return f"{100 * quota.used / max(quota.hard, 1):.0f}%"


def quota_section(project: str, extras: ProjectExtras, csrf: str) -> str:
    quota = extras.quota
    if quota is None:
        return ""
    limit = "no limit" if quota.hard < 0 else size_text(quota.hard)
    used = size_text(quota.used)
    share = "" if quota.hard < 0 else f" ({_percent(quota)})"
    out = (
        '<section class="card" aria-labelledby="quota-h"><h2 id="quota-h">Storage quota</h2>'
        f'<p id="quota-text">{e(used)} used of {e(limit)}{e(share)}</p>{_bar(quota)}'
    )
    if extras.edit_quota:
        options = "".join(
            f'<option value="{u}"{" selected" if u == "GiB" else ""}>{u}</option>'
            for u in ("MiB", "GiB", "TiB")
        )
        current = "" if quota.hard < 0 else f"{quota.hard / (1 << 30):g}"
        out += (
            f'<form method="post" action="{href(f"/projects/{project}/quota")}">'
            + _csrf(csrf)
            + '<label for="quota-limit">Limit (empty or -1 for no limit)</label>'
            f'<input id="quota-limit" name="limit" inputmode="decimal" value="{e(current)}">'
            f' <label for="quota-unit">Unit</label><select id="quota-unit" name="unit">'
            f'{options}</select> <button type="submit">Set limit</button></form>'
        )
    return out + "</section>"
