"""Garbage collection calls (Harbor's ``/system/gc``): start a run, read and set the
schedule, the history, one run and its log, stop a run. System administrators only."""

from __future__ import annotations

import time
from typing import Any

from dockyard.client.harbor._client import HarborClient
from dockyard.errors import Unavailable

__all__ = [
    "ENDED",
    "GcOptions",
    "gc_history",
    "gc_log",
    "gc_schedule",
    "get_gc",
    "set_gc_schedule",
    "start_gc",
    "stop_gc",
    "wait_gc",
]

#: the statuses of a run that has ended
ENDED = ("Success", "Error", "Stopped")

#: Harbor's GC parameters: delete_untagged, dry_run, workers, time_window (hours)
GcOptions = dict[str, Any]


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Unavailable(f"{what}: the registry did not answer with a JSON object")
    return value


def start_gc(client: HarborClient, parameters: GcOptions) -> int:
    """Start a run now (a ``Manual`` schedule); its id."""
    what = "start garbage collection"
    resp = client.api.request(
        "POST",
        "/system/gc/schedule",
        what=what,
        body={"schedule": {"type": "Manual"}, "parameters": parameters},
        ok=(201,),
    )
    run = client.api.location_id(resp)
    if run is None:
        raise Unavailable(f"{what}: the registry gave no Location for the run")
    return run


def gc_schedule(client: HarborClient) -> dict[str, Any] | None:
    """The schedule (Harbor's GCHistory shape), None when none is set."""
    resp = client.api.request("GET", "/system/gc/schedule", what="read the gc schedule")
    if not resp.body.strip():
        return None
    return _object(resp.json(), "read the gc schedule")


def set_gc_schedule(
    client: HarborClient, kind: str, cron: str | None, parameters: GcOptions
) -> None:
    """Set the schedule: ``kind`` Hourly, Daily, Weekly, Custom (with ``cron``, 6 fields) or
    None (remove it). Created with POST when there is none, else updated with PUT."""
    schedule: dict[str, Any] = {"type": kind}
    if cron is not None:
        schedule["cron"] = cron
    body = {"schedule": schedule, "parameters": parameters}
    if gc_schedule(client) is None:
        client.api.request("POST", "/system/gc/schedule", what="set the gc schedule", body=body,
                           ok=(201,))  # fmt: skip
    else:
        client.api.request("PUT", "/system/gc/schedule", what="set the gc schedule", body=body)


def gc_history(client: HarborClient, *, limit: int | None = None) -> list[dict[str, Any]]:
    """The runs, newest first."""
    items = client.api.pages("/system/gc", what="list the gc runs", limit=limit)
    return [dict(i) for i in items]


def get_gc(client: HarborClient, run: int) -> dict[str, Any]:
    what = f"read gc run {run}"
    return _object(client.api.request("GET", f"/system/gc/{run}", what=what).json(), what)


def gc_log(client: HarborClient, run: int) -> str:
    resp = client.api.request("GET", f"/system/gc/{run}/log", what=f"read the log of gc run {run}",
                              headers={"Accept": "text/plain"})  # fmt: skip
    return resp.body.decode("utf-8", "replace")


def stop_gc(client: HarborClient, run: int) -> None:
    client.api.request("PUT", f"/system/gc/{run}", what=f"stop gc run {run}")


def wait_gc(client: HarborClient, run: int, *, timeout: float = 3600.0) -> dict[str, Any]:
    """The run once it ended (polled)."""
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        found = get_gc(client, run)
        if found.get("job_status") in ENDED:
            return found
        if time.monotonic() > deadline:
            raise Unavailable(f"gc run {run} is still {found.get('job_status')}")
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
