"""Runs a killed registry left "Running" are closed when it starts again: a retention
execution of a real registry process killed with SIGKILL mid-run is Error after the restart
(its task logs say why) and the next run is not blocked; a garbage collection whose process
was killed is Error too, while one a live process holds is left alone."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from _infra import backend
from _infra.projects_registry import ADMIN_PASSWORD, projects_env, team_with_people
from _infra.registry_server import push_image, start_registry
from dockyard.registry import Registry
from dockyard.registry._run_locks import RunLocks
from dockyard.registry.access import AccessConfig, AccessService
from dockyard.registry.gcjobs import GcJobs
from dockyard.registry.gcjobs._schema import gc_runs

pytestmark = pytest.mark.slow

ADMIN = ("admin", ADMIN_PASSWORD)
REPOSITORIES = 40


def _policy(project_id: int) -> dict[str, Any]:
    """Keep nothing: every artifact of every repository is deleted, one by one."""
    selector = {"kind": "doublestar", "decoration": "matches", "pattern": "**",
                "extras": '{"untagged":true}'}  # fmt: skip
    scope = {"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}
    rule = {"template": "latestPushedK", "params": {"latestPushedK": 0}, "action": "retain",
            "tag_selectors": [selector], "scope_selectors": {"repository": [scope]}}  # fmt: skip
    return {"algorithm": "or", "rules": [rule],
            "trigger": {"kind": "Schedule", "settings": {"cron": ""}},
            "scope": {"level": "project", "ref": project_id}}  # fmt: skip


def _executions(api: str, policy: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{api}/retentions/{policy}/executions", auth=ADMIN)
    assert r.status_code == 200, r.text
    return list(r.json())


@pytest.mark.slow
def test_a_retention_run_killed_with_its_registry_is_error_after_the_restart(
    tmp_path: Path,
) -> None:
    root = tmp_path / "data"
    env = projects_env(root, DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD)
    with start_registry(root, env=env) as server:
        db = backend.database(root)
        access = AccessService(db, AccessConfig(password_cost=4))
        team_with_people(access)
        project_id = access.projects.get("team").id
        db.close()
        with httpx.Client(base_url=server.url, auth=ADMIN, timeout=30) as client:
            for n in range(REPOSITORIES):
                push_image(client, f"team/app{n}", "v1", seed=str(n))
        api = f"{server.url}/api/v2.0"
        r = httpx.post(f"{api}/retentions", json=_policy(project_id), auth=ADMIN)
        assert r.status_code == 201, r.text
        policy = r.headers["location"].rsplit("/", 1)[1]
        r = httpx.post(f"{api}/retentions/{policy}/executions", json={"dry_run": False},
                       auth=ADMIN)  # fmt: skip
        assert r.status_code == 201, r.text
        server.stop(signal.SIGKILL)  # mid-run: it deletes artifacts one by one
    with start_registry(root, env=env, port=int(server.host.rsplit(":", 1)[1])) as server:
        api = f"{server.url}/api/v2.0"
        (killed,) = _executions(api, policy)
        assert killed["status"] == "Error", killed  # closed at start-up, not left Running
        assert killed["end_time"]
        r = httpx.get(f"{api}/retentions/{policy}/executions/{killed['id']}/tasks", auth=ADMIN)
        running = [t for t in r.json() if t["status"] == "Error"]
        for task in running:  # the task cut short says why
            log = httpx.get(f"{api}/retentions/{policy}/executions/{killed['id']}/tasks/"
                            f"{task['id']}", auth=ADMIN).text  # fmt: skip
            assert "stopped before it ended" in log
        # the next run is not blocked, and ends
        r = httpx.post(f"{api}/retentions/{policy}/executions", json={"dry_run": True},
                       auth=ADMIN)  # fmt: skip
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            latest = _executions(api, policy)[0]
            if latest["status"] != "Running":
                break
            time.sleep(0.2)
        assert latest["id"] != killed["id"] and latest["status"] == "Success", latest


HOLDER = """
import sys, time
from dockyard.registry._run_locks import RunLocks
from dockyard.registry.metadata import Database
held = RunLocks(Database(sys.argv[1]), "gc").hold(int(sys.argv[2]))
print("held", flush=True)
time.sleep(600)
"""


def test_a_gc_run_is_error_once_the_process_holding_it_is_killed(tmp_path: Path) -> None:
    registry = Registry.open(tmp_path / "data")
    db = registry.meta.db
    jobs = GcJobs(registry)
    started = time.time() - 60  # older than the grace a just-started run gets
    with db.write() as conn:
        ids = [
            int(conn.execute(gc_runs.insert().values(
                trigger="MANUAL", status=status, parameters="{}", log="", stop_requested=False,
                created_at=started, updated_at=started,
            )).inserted_primary_key[0])  # type: ignore[index]
            for status in ("Running", "Pending")
        ]  # fmt: skip
    database = str(db.engine.url.database)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, database, str(ids[0])],
                              stdout=subprocess.PIPE)  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        # the Pending run nobody holds is closed; the one a live process holds is not
        assert jobs.close_abandoned() == [ids[1]]
        assert RunLocks(db, "gc").abandoned(ids[0]) is False
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        assert GcJobs(registry).close_abandoned() == []  # a new GcJobs (a restart) did it
        with db.read() as conn:
            rows = conn.execute(select(gc_runs.c.status, gc_runs.c.log)).all()
        assert [r.status for r in rows] == ["Error", "Error"]
        assert all("stopped before it ended" in r.log for r in rows)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
        jobs.close()
        registry.close()
