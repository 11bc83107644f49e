"""Routing of ``/admin/replication…``: a page (bytes), a place to go after a change (a str,
for a 303), or None when the path is not one of its own. Forms have been checked for their
CSRF token before."""

from __future__ import annotations

from urllib.parse import quote

from dockyard.registry.console import _replication as replication
from dockyard.registry.console import _replication_view as view
from dockyard.registry.console._robots import Ask

__all__ = ["replication_admin_page"]

BASE = "/admin/replication"


async def replication_admin_page(
    ask: Ask, method: str, parts: list[str], form: dict[str, str], *, user: str, csrf: str
) -> bytes | str | None:
    """``parts``: the path after ``/admin/replication``."""
    if method == "POST":
        match parts:
            case ["registries"]:
                tested = await replication.add_registry(ask, form)
                found = await replication.replication_page(ask, tested)
                return view.replication_view(found, user=user, csrf=csrf)
            case ["registries", registry_id, "ping"]:
                tested = await replication.ping_registry(ask, registry_id)
                found = await replication.replication_page(ask, tested)
                return view.replication_view(found, user=user, csrf=csrf)
            case ["registries", registry_id, "delete"]:
                await replication.delete_registry(ask, registry_id)
                return BASE
            case ["policies"]:
                await replication.create_policy(ask, form)
                return BASE
            case ["policies", policy_id, "run"]:
                return f"{BASE}/executions/{await replication.replicate_now(ask, policy_id)}"
            case ["policies", policy_id, ("enable" | "disable") as action]:
                await replication.switch_policy(ask, policy_id, enabled=action == "enable")
                return BASE
            case ["policies", policy_id, "delete"]:
                await replication.delete_policy(ask, policy_id)
                return BASE
            case ["executions", execution_id, "stop"]:
                await replication.stop_execution(ask, execution_id)
                return f"{BASE}/executions/{quote(execution_id, safe='')}"
        return None
    match parts:
        case []:
            found = await replication.replication_page(ask)
            return view.replication_view(found, user=user, csrf=csrf)
        case ["executions", execution_id]:
            run = await replication.execution_page(ask, execution_id)
            return view.execution_view(run, user=user, csrf=csrf)
    return None
