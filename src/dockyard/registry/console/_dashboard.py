"""What the dashboard counts, asked of ``/api/v2.0`` as the signed-in user: storage used by
project (the quotas), pushes and pulls a day (the audit log's successful ``create`` and
``pull`` of artifacts), and the artifacts by their worst vulnerability (the API's
``GET /vulnerabilities/summary``, which reads the scan reports without queueing a scan). A
system administrator sees every project, anyone else the projects they are a member of.
Bounded: at most :data:`MAX_PROJECTS` projects are looked at (the summary has its own
bounds), and the page says so when counting stopped early."""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass
from typing import Any

from dockyard.registry.console._calls import segment
from dockyard.registry.console._robots import Ask
from dockyard.registry.contents import SEVERITIES

__all__ = ["DAYS", "MAX_PROJECTS", "SEVERITIES", "Dashboard", "collect"]

DAYS = 30
DAY = 86400
MAX_PROJECTS = 1000


@dataclass(frozen=True, slots=True)
class Dashboard:
    """``storage``: (project, bytes used), most first; ``days``: the UTC dates, oldest first,
    with ``pushes``/``pulls`` a day; ``severities``: artifacts by their worst finding, None
    when scanning is off; ``notes``: where counting stopped early."""

    storage: list[tuple[str, int]]
    days: list[str]
    pushes: tuple[int, ...]
    pulls: tuple[int, ...]
    severities: dict[str, int] | None
    notes: list[str]


async def _pages(ask: Ask, path: str, most: int, query: dict[str, str] | None = None) -> list[Any]:
    """Up to ``most`` items of a paged listing."""
    out: list[Any] = []
    number = 1
    while len(out) < most:
        answer = await ask("GET", path, {**(query or {}), "page": str(number), "page_size": "100"})
        items = list(answer.json or [])
        out.extend(items)
        if len(items) < 100 or (answer.total is not None and len(out) >= answer.total):
            break
        number += 1
    return out[:most]


async def _projects(ask: Ask, admin: bool) -> dict[str, int]:
    """name → repository count, of the projects the dashboard counts."""
    found = await _pages(ask, "/projects", MAX_PROJECTS)
    return {
        str(p["name"]): int(p.get("repo_count") or 0)
        for p in found
        if admin or int(p.get("current_user_role_id") or 0) > 0
    }


async def _storage(ask: Ask, admin: bool, projects: list[str]) -> list[tuple[str, int]]:
    if admin:  # one listing instead of a summary a project
        quotas = await _pages(ask, "/quotas", MAX_PROJECTS)
        used = [(str(q["ref"]["name"]), int(q["used"]["storage"])) for q in quotas]
    else:
        used = []
        for name in projects:
            summary = (await ask("GET", f"/projects/{segment(name)}/summary")).json or {}
            if isinstance(summary.get("quota"), dict):
                used.append((name, int(summary["quota"]["used"]["storage"])))
    return sorted(used, key=lambda x: (-x[1], x[0]))


async def _activity(ask: Ask, start: int) -> dict[str, list[int]]:
    """Successful pushes (``create``) and pulls of artifacts a day for DAYS days from
    ``start``: one grouped count of the audit log (``bucket=``), operation → counts."""
    end = start + DAYS * DAY - 1
    q = f"operation={{create pull}},resource_type=artifact,op_result=true,op_time=[{start}~{end}]"
    answer = await ask("GET", "/auditlog-exts", {"q": q, "bucket": str(DAY)})
    out = {"create": [0] * DAYS, "pull": [0] * DAYS}
    for row in answer.json or ():
        day = (_parse_harbor_time(str(row["op_time"])) - start) // DAY
        if str(row["operation"]) in out and 0 <= day < DAYS:
            out[str(row["operation"])][day] += int(row["count"])
    return out


def _parse_harbor_time(text: str) -> int:
    """Harbor's ``2026-12-04T00:00:00.000Z`` as Unix seconds."""
    return calendar.timegm(time.strptime(text.split(".")[0].rstrip("Z"), "%Y-%m-%dT%H:%M:%S"))


#: the summary's field for each severity (``GET /vulnerabilities/summary``)
_FIELDS = {"CRITICAL": "critical_cnt", "HIGH": "high_cnt", "MEDIUM": "medium_cnt",
           "LOW": "low_cnt", "UNKNOWN": "unknown_cnt", "NONE": "none_cnt",
           "UNSCANNED": "unscanned_cnt"}  # fmt: skip


async def _severities(ask: Ask, notes: list[str]) -> dict[str, int]:
    """The API's count of the user's artifacts by their worst vulnerability."""
    summary = (await ask("GET", "/vulnerabilities/summary")).json or {}
    counts = {level: int(summary.get(field) or 0) for level, field in _FIELDS.items()}
    if summary.get("partial"):
        notes.append(f"Only the first {sum(counts.values())} artifacts are counted.")
    return counts


async def collect(ask: Ask, *, now: float, scanning: bool) -> Dashboard:
    """The dashboard's numbers for the user ``ask`` calls as; the vulnerability chart only
    when the registry scans (``scanning``)."""
    me = (await ask("GET", "/users/current")).json or {}
    admin = bool(me.get("sysadmin_flag"))
    counts = await _projects(ask, admin)
    projects = list(counts)
    notes: list[str] = []
    if len(projects) >= MAX_PROJECTS:
        notes.append(f"Only the first {MAX_PROJECTS} projects are counted.")
    storage = await _storage(ask, admin, projects)
    today = int(now) - int(now) % DAY
    starts = [today - (DAYS - 1 - i) * DAY for i in range(DAYS)]
    activity = await _activity(ask, starts[0])
    pushes, pulls = tuple(activity["create"]), tuple(activity["pull"])
    days = [_date(s) for s in starts]
    severities = await _severities(ask, notes) if scanning else None
    return Dashboard(storage, days, pushes, pulls, severities, notes)


def _date(ts: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))
