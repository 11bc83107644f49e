"""The queue survives what goes wrong: with the destination down, pushes to an event-based
policy wait as pending tasks (each tried and failed); the source registry is stopped and
started again meanwhile; once the destination is back, every artifact arrives, its digest
equal, its cosign signature with it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from _infra.harbor_api import check_created
from _infra.projects_registry import ADMIN_PASSWORD, basic, projects_env, wait_for
from _infra.registry_server import free_port, push_blob, push_image, start_registry
from _infra.replication import (
    Destination,
    check_harbor,
    cosign_signature_manifest,
    skopeo_digest,
)

pytestmark = pytest.mark.slow

API = "/api/v2.0"


def _executions(client: httpx.Client) -> list[dict[str, Any]]:
    r = client.get(f"{API}/replication/executions", params={"page_size": 50})
    assert r.status_code == 200, r.text
    return list(check_harbor(r.json(), "ReplicationExecution", many=True))


def _tried(client: httpx.Client, execution: int) -> bool:
    r = client.get(f"{API}/replication/executions/{execution}/tasks")
    tasks = check_harbor(r.json(), "ReplicationTask", many=True)
    logs = [client.get(f"{API}/replication/executions/{execution}/tasks/{t['id']}/log").text
            for t in tasks]  # fmt: skip
    return bool(tasks) and all("failed: " in log for log in logs)


def test_pending_copies_survive_a_source_restart_and_arrive_when_the_destination_is_back(
    tmp_path: Path,
) -> None:
    destination = Destination(tmp_path / "destination").start()
    root = tmp_path / "source"
    env = projects_env(
        root,
        DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD,
        REGISTRY_REPLICATION_BACKOFF="0.1s",
        REGISTRY_REPLICATION_MAXWAIT="1s",
        REGISTRY_REPLICATION_ATTEMPTS="200",
    )
    port = free_port()  # fmt: skip
    auth = basic("admin", ADMIN_PASSWORD)
    try:
        with start_registry(root, env=env, port=port) as server:
            client = httpx.Client(base_url=server.url, headers=auth, timeout=30)
            r = client.post(f"{API}/projects", json={"project_name": "ship"})
            check_created(r, f"{API}/projects")
            body = {"name": "distribution", "type": "docker-registry", "url": destination.url,
                    "credential": {"access_key": destination.user,
                                   "access_secret": destination.password}}  # fmt: skip
            endpoint = check_created(client.post(f"{API}/registries", json=body),
                                     f"{API}/registries")  # fmt: skip
            policy = {"name": "ship", "dest_registry": {"id": int(endpoint)},
                      "trigger": {"type": "event_based"},
                      "filters": [{"type": "name", "value": "ship/**"}]}  # fmt: skip
            check_created(client.post(f"{API}/replication/policies", json=policy),
                          f"{API}/replication/policies")  # fmt: skip
            destination.stop()
            images = [push_image(client, "ship/app", f"v{i}", seed=f"r{i}") for i in range(3)]
            signature = cosign_signature_manifest(push_blob, client, "ship/app")
            sig_tag = "sha256-" + images[0].digest.partition(":")[2] + ".sig"
            r = client.put(
                f"/v2/ship/app/manifests/{sig_tag}",
                content=signature,
                headers={"content-type": "application/vnd.oci.image.manifest.v1+json"},
            )
            assert r.status_code == 201, r.text  # fmt: skip
            # four tasks (in one execution or several: pushes are taken up together)
            wait_for(
                lambda: (
                    sum(e["total"] for e in _executions(client)) == 4
                    and all(_tried(client, e["id"]) for e in _executions(client))
                ),
                timeout=30,
                explain=lambda: f"{_executions(client)}\n{server.log.read_text()[-3000:]}",
            )
            assert {e["status"] for e in _executions(client)} == {"InProgress"}
            client.close()
        # the source is down; it starts again, and only then is the destination back
        with start_registry(root, env=env, port=port) as server:
            destination.start()
            client = httpx.Client(base_url=server.url, headers=auth, timeout=30)

            def all_ended() -> list[dict[str, Any]]:
                found = _executions(client)
                return found if all(e["status"] != "InProgress" for e in found) else []

            ended = wait_for(all_ended, timeout=60)
            client.close()
        assert {e["status"] for e in ended} == {"Succeed"}
        assert sum(e["succeed"] for e in ended) == 4
        assert destination.tags("ship/app") == sorted(["v0", "v1", "v2", sig_tag])
        for n, image in enumerate(images):
            assert skopeo_digest(destination, "ship/app", f"v{n}") == image.digest
        assert destination.digest("ship/app", sig_tag) == (
            "sha256:" + hashlib.sha256(signature).hexdigest()
        )
    finally:
        destination.stop()
