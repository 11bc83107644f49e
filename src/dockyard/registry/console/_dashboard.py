"""What the dashboard counts, asked of ``/api/v2.0`` as the signed-in user: storage used by
project (the quotas), pushes and pulls a day (the audit log's successful ``create`` and
``pull`` of artifacts), and the artifacts by their worst vulnerability (the registry's scan
reports, read without queueing a scan). A system administrator sees every project, anyone
else the projects they are a member of. Bounded: at most :data:`MAX_PROJECTS` projects,
:data:`MAX_ARTIFACTS` artifacts and :data:`MAX_LISTINGS` listings are looked at, and the page
says so when it stopped early."""

from __future__ import annotations

import calendar
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from dockyard.errors import DockyardError
from dockyard.registry._registry import Registry
from dockyard.registry.console._calls import segment
from dockyard.registry.console._robots import Ask
from dockyard.registry.scanning import scan_target

__all__ = [
    "DAYS",
    "MAX_ARTIFACTS",
    "MAX_LISTINGS",
    "MAX_PROJECTS",
    "SEVERITIES",
    "Dashboard",
    "collect",
    "worst_of",
    "worst_severities",
]

DAYS = 30
DAY = 86400
MAX_PROJECTS = 1000
MAX_ARTIFACTS = 500
#: API listings (of repositories, of artifacts) one dashboard makes at most
MAX_LISTINGS = 300
#: worst first; ``NONE``: scanned, nothing found; ``UNSCANNED``: no finished report yet
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN", "NONE", "UNSCANNED")


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


async def _artifacts(ask: Ask, projects: list[str], notes: list[str]) -> list[tuple[str, str]]:
    """(repository, digest) of up to MAX_ARTIFACTS artifacts, in at most MAX_LISTINGS
    listings."""
    out: list[tuple[str, str]] = []
    listings = 0
    for name in projects:
        repos = await _pages(ask, f"/projects/{segment(name)}/repositories", 100)
        listings += 1
        for repo in repos:
            if len(out) >= MAX_ARTIFACTS or listings >= MAX_LISTINGS:
                notes.append(f"Only the first {len(out)} artifacts are counted.")
                return out
            full = str(repo["name"])
            inside = full[len(name) + 1 :] if full.startswith(name + "/") else full
            path = f"/projects/{segment(name)}/repositories/{segment(inside)}/artifacts"
            found = await _pages(ask, path, MAX_ARTIFACTS - len(out), {"with_tag": "false"})
            listings += 1
            out.extend((full, str(a["digest"])) for a in found)
    return out


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


def worst_severities(
    reports: Any, registry: Registry, artifacts: list[tuple[str, str]]
) -> dict[str, int]:
    """Blocking: artifacts (repository, digest) counted by their worst finding; an index by
    the worst of its images. Reads the reports only (no scan is queued)."""
    counts = dict.fromkeys(SEVERITIES, 0)
    for repository, digest in artifacts:
        worst = worst_of(reports, registry, repository, digest)
        if worst is not None:
            counts[worst] += 1
    return counts


def worst_of(reports: Any, registry: Registry, repository: str, digest: str) -> str | None:
    """Blocking: the worst severity of the artifact's scan report (an index: of its images'),
    "NONE" without findings, "UNSCANNED" while a report is missing; None when it is not an
    image (or is gone). Reads the reports only (no scan is queued)."""
    try:
        target = scan_target(registry.manifest(repository, digest))
    except DockyardError:  # deleted meanwhile
        return None
    if target is None:
        return None
    worst = "NONE"
    for image, _ in target.images:
        record = reports.scanner.records.get(image)
        if record is None or record.report is None:
            return "UNSCANNED"
        found = {
            str(r.get("Severity", "UNKNOWN")).upper() for r in record.report.get("Results") or ()
        }
        for level in SEVERITIES:
            if level in found and SEVERITIES.index(level) < SEVERITIES.index(worst):
                worst = level
    return worst


async def collect(
    ask: Ask,
    *,
    now: float,
    reports: Any,
    read: Callable[[list[tuple[str, str]]], Awaitable[dict[str, int]]],
) -> Dashboard:
    """The dashboard's numbers for the user ``ask`` calls as; ``read`` runs
    :func:`worst_severities` in a thread (when ``reports`` is not None)."""
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
    severities = None
    if reports is not None:
        artifacts = await _artifacts(ask, [p for p in projects if counts.get(p)], notes)
        severities = await read(artifacts)
    return Dashboard(storage, days, pushes, pulls, severities, notes)


def _date(ts: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))
