"""Nothing is lost: with the receiver down, events queue up in a real registry process;
the process is stopped and started again; once the receiver is back, every event arrives,
each exactly once, signed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from _infra.harbor_api import check_created, check_list
from _infra.projects_registry import ADMIN_PASSWORD, basic, projects_env, wait_for
from _infra.registry_server import push_image, start_registry
from _infra.webhook_sink import WebhookReceiver, valid_signature
from dockyard.registry.webhooks import SIGNATURE_HEADER

API = "/api/v2.0"
SECRET = "restart-secret"

pytestmark = pytest.mark.slow


def _executions(client: httpx.Client, policy: int) -> list[Any]:
    r = client.get(f"{API}/projects/ship/webhook/policies/{policy}/executions",
                   params={"page_size": "50"})  # fmt: skip
    return check_list(r, "Execution")


def test_events_queued_while_the_receiver_is_down_survive_a_restart(tmp_path: Path) -> None:
    root = tmp_path / "data"
    env = projects_env(root, DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD)
    receiver = WebhookReceiver()  # not listening yet
    auth = basic("admin", ADMIN_PASSWORD)
    with start_registry(root, env=env) as server:
        client = httpx.Client(base_url=server.url, headers=auth, timeout=30)
        check_created(client.post(f"{API}/projects", json={"project_name": "ship"}),
                      f"{API}/projects")  # fmt: skip
        body = {
            "name": "ship-hooks", "enabled": True, "secret": SECRET,
            "event_types": ["PUSH_ARTIFACT", "PULL_ARTIFACT", "DELETE_ARTIFACT"],
            "targets": [{"type": "http", "address": f"{receiver.url}/hook"}],
        }  # fmt: skip
        r = client.post(f"{API}/projects/ship/webhook/policies", json=body)
        policy = int(check_created(r, f"{API}/projects/ship/webhook/policies"))
        images = [push_image(client, "ship/app", f"v{i}", seed=f"s{i}") for i in range(3)]
        assert client.get("/v2/ship/app/manifests/v0").status_code == 200
        r = client.delete(f"/v2/ship/app/manifests/{images[2].digest}")
        assert r.status_code == 202

        def all_tried() -> list[Any]:  # every event queued, and each delivery tried and failed
            found = _executions(client, policy)
            if len(found) < 5:
                return []
            base = f"{API}/projects/ship/webhook/policies/{policy}/executions"
            tasks = [check_list(client.get(f"{base}/{e['id']}/tasks"), "Task")[0] for e in found]
            return found if all(t["run_count"] >= 1 for t in tasks) else []

        executions = wait_for(all_tried, timeout=30)
        # none delivered, none given up: waiting for its next try (or in one right now)
        assert {e["status"] for e in executions} <= {"Pending", "Running"}, executions
        client.close()
    # the registry is down; the receiver comes back; the registry starts again
    receiver.start()
    try:
        with start_registry(root, env=env):
            got = receiver.wait_for(5, timeout=60)
            time.sleep(1.0)
            assert len(receiver.received) == 5  # exactly once
    finally:
        receiver.stop()
    bodies = [g.json() for g in got]
    assert sorted(b["type"] for b in bodies) == [
        "DELETE_ARTIFACT", "PULL_ARTIFACT", "PUSH_ARTIFACT", "PUSH_ARTIFACT", "PUSH_ARTIFACT",
    ]  # fmt: skip
    pushed = sorted(
        r["tag"] for b in bodies if b["type"] == "PUSH_ARTIFACT"
        for r in b["event_data"]["resources"]
    )  # fmt: skip
    assert pushed == ["v0", "v1", "v2"]
    assert all(valid_signature(SECRET, g, SIGNATURE_HEADER) for g in got)
