"""Routing of the policies pages (``/projects/<p>/policies``, ``…/retention/…``,
``…/immutable/…``, ``…/webhooks/…``) and of the administration pages (``/admin/gc…``,
``/admin/jobs``): each
function answers a page (bytes), a place to go after a change (a str, for a 303), or None
when the path is not one of its own. Forms have been checked for their CSRF token before."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from dockyard.errors import NotFound
from dockyard.registry.console import _gc as gc
from dockyard.registry.console import _gc_view as gc_view
from dockyard.registry.console import _jobs as jobs
from dockyard.registry.console import _policies as policies
from dockyard.registry.console import _policies_view as policies_view
from dockyard.registry.console._paging import Paging, paging
from dockyard.registry.console._robots import Ask, Can

__all__ = ["admin_page", "policy_page"]


def _edit(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 4 else None


async def policy_page(
    ask: Ask,
    can: Can,
    project: str,
    method: str,
    rest: list[str],
    form: dict[str, str],
    query: Callable[[str], str | None],
    *,
    user: str,
    csrf: str,
) -> bytes | str | None:
    here = f"/projects/{quote(project, safe='')}"
    back = here + "/policies"
    if method == "POST":
        match rest:
            case ["retention", "rules"]:
                await policies.save_retention_rule(ask, project, form)
                return back
            case ["retention", "rules", index, "delete"]:
                await policies.delete_retention_rule(ask, project, index)
                return back
            case ["retention", "schedule"]:
                await policies.set_retention_schedule(ask, project, form)
                return back
            case ["retention", ("run" | "dry-run") as kind]:
                eid = await policies.run_retention(ask, project, dry_run=kind == "dry-run")
                return f"{here}/retention/runs/{eid}"
            case ["immutable"]:
                await policies.add_immutable_rule(ask, project, form)
                return back
            case ["immutable", rule_id, action]:
                await policies.immutable_action(ask, project, rule_id, action)
                return back
            case ["webhooks"]:
                await policies.add_webhook(ask, project, form)
                return back
            case ["webhooks", hook_id, "delete"]:
                await policies.delete_webhook(ask, project, hook_id)
                return back
            case ["webhooks", hook_id, ("enable" | "disable") as action]:
                await policies.switch_webhook(ask, project, hook_id, disable=action == "disable")
                return back
        return None
    match rest:
        case ["policies"]:
            found = await policies.policies(ask, can, project)
            return policies_view.policies_page(project, found, user=user, csrf=csrf,
                                               edit=_edit(query("edit")))  # fmt: skip
        case ["retention", "runs", eid]:
            run = await policies.retention_run(ask, project, eid)
            return policies_view.retention_run_page(project, run, user=user, csrf=csrf)
        case ["webhooks", hook_id]:
            log = await policies.webhook_log(ask, project, hook_id)
            return policies_view.webhook_page(project, log, user=user, csrf=csrf)
    return None


async def admin_page(
    ask: Ask,
    method: str,
    parts: list[str],
    form: dict[str, str],
    query: Callable[[str], str | None],
    *,
    user: str,
    csrf: str,
) -> bytes | str | None:
    """``parts``: the path after ``/admin``; ``query``: the page's query parameters."""
    if method == "POST":
        match parts:
            case ["gc", "schedule"]:
                await gc.set_schedule(ask, form)
                return "/admin/gc"
            case ["gc", "run"]:
                return f"/admin/gc/{await gc.run_gc(ask, form)}"
            case ["jobs", "scan-all"]:
                await jobs.scan_all_now(ask)
                return "/admin/jobs"
            case ["jobs", "scan-all", "stop"]:
                await jobs.stop_scan_all(ask)
                return "/admin/jobs"
            case ["jobs", "scan-all", "schedule"]:
                await jobs.set_scan_all_schedule(ask, form)
                return "/admin/jobs"
            case ["gc", run_id, "stop"]:
                await gc.stop_gc(ask, run_id)
                return f"/admin/gc/{quote(run_id, safe='')}"
        return None
    match parts:
        case ["jobs"]:
            at = paging(query("page"), query("page_size"))
            at = Paging(at.number, min(at.size, jobs.PROJECTS_A_PAGE))
            return jobs.jobs_page(await jobs.jobs(ask, at), at, user=user, csrf=csrf)
        case ["gc"] | []:
            return gc_view.gc_page(await gc.gc_page(ask), user=user, csrf=csrf)
        case ["gc", run_id]:
            return gc_view.gc_run_page(await gc.gc_run(ask, run_id), user=user, csrf=csrf)
    raise NotFound("no such administration page")
