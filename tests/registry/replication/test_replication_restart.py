"""The queue survives what goes wrong: with the destination (distribution 2.8.2) down for a
minute, pushes to an event-based policy wait as pending tasks (each tried and failed, again
and again); the source registry is stopped and started again meanwhile; once the destination
is back, every artifact arrives, its digest equal, and the signatures ``dockyard sign`` made
(cosign's ``.sig`` tag, and an OCI referrer) with it: ``dockyard verify`` finds them there."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from _infra import run_dockyard
from _infra.harbor_api import check_created
from _infra.projects_registry import ADMIN_PASSWORD, basic, projects_env, wait_for
from _infra.registry_server import free_port, push_image, start_registry
from _infra.replication import Destination, check_harbor, skopeo_digest

pytestmark = pytest.mark.slow

API = "/api/v2.0"
#: how long the destination stays down (the figure the issue asks for)
OUTAGE = 60.0
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
COSIGN_SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"


def _executions(client: httpx.Client) -> list[dict[str, Any]]:
    r = client.get(f"{API}/replication/executions", params={"page_size": 50})
    assert r.status_code == 200, r.text
    return list(check_harbor(r.json(), "ReplicationExecution", many=True))


def _tasks(client: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for execution in _executions(client):
        r = client.get(f"{API}/replication/executions/{execution['id']}/tasks",
                       params={"page_size": 100})  # fmt: skip
        found += check_harbor(r.json(), "ReplicationTask", many=True)
    return found


def _log(client: httpx.Client, task: dict[str, Any]) -> str:
    r = client.get(f"{API}/replication/executions/{task['execution_id']}/tasks/{task['id']}/log")
    assert r.status_code == 200, r.text
    return r.text


def _tried(client: httpx.Client, task: dict[str, Any]) -> bool:
    return "failed: " in _log(client, task)


def _dockyard(cli: dict[str, Any], *args: str | Path) -> str:
    return str(run_dockyard(*args, root=cli["root"], env=cli["env"]).stdout)


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
        REGISTRY_REPLICATION_ATTEMPTS="500",
    )
    port = free_port()
    auth = basic("admin", ADMIN_PASSWORD)
    cli: dict[str, Any] = {"root": tmp_path / "cli",
                           "env": {"COSIGN_PASSWORD": "restart-pw",
                                   "DOCKER_CONFIG": str(tmp_path / "docker")}}  # fmt: skip
    key = tmp_path / "cosign"
    _dockyard(cli, "generate-key-pair", "--output-key-prefix", key)
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
            down_since = time.monotonic()
            images = [push_image(client, "ship/app", f"v{i}", seed=f"r{i}") for i in range(3)]
            _dockyard(cli, "login", "-u", "admin", "-p", ADMIN_PASSWORD, "--insecure",
                      server.host)  # fmt: skip
            signed = f"{server.host}/ship/app@{images[0].digest}"
            _dockyard(cli, "sign", "--key", key.with_suffix(".key"), signed)  # the .sig tag
            referred = f"{server.host}/ship/app@{images[1].digest}"
            _dockyard(cli, "sign", "--referrers", "--key", key.with_suffix(".key"), referred)
            sig_tag = "sha256-" + images[0].digest.partition(":")[2] + ".sig"
            r = client.get(f"/v2/ship/app/referrers/{images[1].digest}")
            [referrer] = r.json()["manifests"]
            assert referrer["artifactType"] == COSIGN_SIG
            signature = client.head(f"/v2/ship/app/manifests/{sig_tag}",
                                    headers={"accept": OCI_MANIFEST})  # fmt: skip
            assert signature.status_code == 200, signature.text

            # every push (the signature tag's too) is a task, tried and failed: pending
            def pending() -> list[dict[str, Any]]:
                tasks = _tasks(client)
                settled = len(tasks) >= 4 and all(_tried(client, t) for t in tasks)
                return tasks if settled else []

            tasks = wait_for(pending, timeout=30,
                             explain=lambda: f"{_tasks(client)}\n{server.log.read_text()[-3000:]}")  # fmt: skip
            assert {e["status"] for e in _executions(client)} == {"InProgress"}
            assert {t["status"] for t in tasks} <= {"Pending", "InProgress"}, tasks
            client.close()
        # the source is down; it starts again, and only after a minute is the destination back
        with start_registry(root, env=env, port=port) as server:
            client = httpx.Client(base_url=server.url, headers=auth, timeout=30)
            assert {e["status"] for e in _executions(client)} == {"InProgress"}
            time.sleep(max(0.0, OUTAGE - (time.monotonic() - down_since)))
            # still pending after a minute of failures (the retry budget has not run out)
            assert {e["status"] for e in _executions(client)} == {"InProgress"}
            assert all(t["status"] != "Failed" for t in _tasks(client)), _tasks(client)
            outage = time.monotonic() - down_since
            destination.start()

            def all_ended() -> list[dict[str, Any]]:
                found = _executions(client)
                return found if all(e["status"] != "InProgress" for e in found) else []

            ended = wait_for(all_ended, timeout=60)
            logs = [_log(client, t) for t in _tasks(client)]
            client.close()
        assert outage >= OUTAGE
        assert {e["status"] for e in ended} == {"Succeed"}, "\n".join(logs)
        assert sum(e["succeed"] for e in ended) == sum(e["total"] for e in ended) >= 4
        fallback = "sha256-" + images[1].digest.partition(":")[2]  # the referrers tag there
        assert destination.tags("ship/app") == sorted(["v0", "v1", "v2", sig_tag, fallback])
        for n, image in enumerate(images):
            assert skopeo_digest(destination, "ship/app", f"v{n}") == image.digest
        assert destination.digest("ship/app", sig_tag) == signature.headers["docker-content-digest"]
        with destination.client() as remote:
            r = remote.get(f"/v2/ship/app/manifests/{fallback}",
                           headers={"accept": "application/vnd.oci.image.index.v1+json"})  # fmt: skip
            assert [m["digest"] for m in r.json()["manifests"]] == [referrer["digest"]]
        _dockyard(cli, "login", "-u", destination.user, "-p", destination.password,
                  "--insecure", destination.host)  # fmt: skip
        for tag in ("v0", "v1"):
            out = _dockyard(cli, "verify", "--key", key.with_suffix(".pub"),
                            f"{destination.host}/ship/app:{tag}")  # fmt: skip
            assert len(json.loads(out)) == 1, out
        unsigned = run_dockyard("verify", "--key", key.with_suffix(".pub"),
                                f"{destination.host}/ship/app:v2", root=cli["root"],
                                env=cli["env"], check=False)  # fmt: skip
        assert unsigned.returncode != 0  # no signature there that was not made here
    finally:
        destination.stop()
