"""Tag retention calls (Harbor's ``/retentions``): a project's policy (found through its
``retention_id`` metadata), runs and dry runs, and their history."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from dockyard.client.harbor._client import HarborClient
from dockyard.errors import NotFound, Unavailable

__all__ = [
    "delete_retention",
    "get_retention",
    "list_executions",
    "list_tasks",
    "policy_id",
    "run_retention",
    "set_retention",
    "task_log",
    "wait_execution",
]


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Unavailable(f"{what}: the registry did not answer with a JSON object")
    return value


def policy_id(client: HarborClient, project: str) -> int | None:
    """The id of ``project``'s retention policy, None when it has none."""
    raw = client.get_project(project).metadata.get("retention_id", "")
    return int(raw) if raw.isdigit() else None


def _required(client: HarborClient, project: str) -> int:
    found = policy_id(client, project)
    if found is None:
        raise NotFound(f"project {project} has no retention policy",
                       hint=f"set one: dockyard retention set {project} POLICY.json")  # fmt: skip
    return found


def get_retention(client: HarborClient, project: str) -> dict[str, Any]:
    """``project``'s policy, Harbor's RetentionPolicy JSON."""
    pid = _required(client, project)
    what = f"read the retention policy of {project}"
    return _object(client.api.request("GET", f"/retentions/{pid}", what=what).json(), what)


def set_retention(client: HarborClient, project: str, policy: Mapping[str, Any]) -> int:
    """Create or replace ``project``'s policy (``rules`` and ``trigger`` of ``policy``; the
    scope is the project); its id."""
    body = {
        "algorithm": policy.get("algorithm", "or"),
        "rules": policy.get("rules", []),
        "trigger": policy.get("trigger") or {"kind": "Schedule", "settings": {"cron": ""}},
        "scope": {"level": "project", "ref": client.get_project(project).project_id},
    }
    pid = policy_id(client, project)
    what = f"set the retention policy of {project}"
    if pid is not None:
        client.api.request("PUT", f"/retentions/{pid}", what=what, body=body)
        return pid
    resp = client.api.request("POST", "/retentions", what=what, body=body, ok=(201,))
    created = client.api.location_id(resp)
    if created is None:
        raise Unavailable(f"{what}: the registry gave no Location for the new policy")
    return created


def delete_retention(client: HarborClient, project: str) -> None:
    pid = _required(client, project)
    client.api.request("DELETE", f"/retentions/{pid}",
                       what=f"delete the retention policy of {project}")  # fmt: skip


def run_retention(client: HarborClient, project: str, *, dry_run: bool) -> int:
    """Start a run (or a dry run) of ``project``'s policy; the execution's id."""
    pid = _required(client, project)
    what = f"run the retention policy of {project}"
    resp = client.api.request("POST", f"/retentions/{pid}/executions", what=what,
                              body={"dry_run": dry_run}, ok=(201,))  # fmt: skip
    eid = client.api.location_id(resp)
    if eid is None:
        raise Unavailable(f"{what}: the registry gave no Location for the execution")
    return eid


def list_executions(
    client: HarborClient, project: str, *, limit: int | None = None
) -> list[dict[str, Any]]:
    pid = _required(client, project)
    items = client.api.pages(f"/retentions/{pid}/executions",
                             what=f"list the retention runs of {project}", limit=limit)  # fmt: skip
    return [dict(i) for i in items]


def wait_execution(
    client: HarborClient, project: str, execution: int, *, timeout: float = 3600.0
) -> dict[str, Any]:
    """The execution once it is no longer Running (polled)."""
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        for e in list_executions(client, project, limit=100):
            if e.get("id") == execution and e.get("status") != "Running":
                return e
        if time.monotonic() > deadline:
            raise Unavailable(f"retention run {execution} of {project} is still running")
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def list_tasks(client: HarborClient, project: str, execution: int) -> list[dict[str, Any]]:
    pid = _required(client, project)
    items = client.api.pages(f"/retentions/{pid}/executions/{execution}/tasks",
                             what=f"list the tasks of retention run {execution}")  # fmt: skip
    return [dict(i) for i in items]


def task_log(client: HarborClient, project: str, execution: int, task: int) -> str:
    pid = _required(client, project)
    resp = client.api.request("GET", f"/retentions/{pid}/executions/{execution}/tasks/{task}",
                              what=f"read the log of retention task {task}",
                              headers={"Accept": "text/plain"})  # fmt: skip
    return resp.body.decode("utf-8", "replace")
