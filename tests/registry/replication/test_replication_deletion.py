"""Replicating deletions, label filters and untagged artifacts from a real ``dockyard
registry serve`` (``auth: projects``) to real distribution 2.8.2 registries, with what it
tells: Harbor's ``REPLICATION`` webhook event when an execution ends, and the
``registry_replication_*`` counters on the debug address.

- a tag and a manifest deleted here are deleted at the destination (distribution 2.8 cannot
  delete a tag alone: its manifest, which no tag here names any more, goes);
- a destination without ``storage.delete.enabled`` (405 UNSUPPORTED) fails the deletion at
  once, saying so, and keeps the artifact;
- a manual policy with a label filter copies exactly the labelled artifacts, the untagged one
  by digest;
- the endpoint's secret is stored sealed and answered as Harbor's mask."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from _infra import backend
from _infra.harbor_api import check_created
from _infra.projects_registry import ADMIN_PASSWORD, basic, projects_env, wait_for
from _infra.registry_server import RegistryProcess, free_port, push_image, start_registry
from _infra.replication import Destination, check_harbor, push_labelled
from _infra.webhook_sink import WebhookReceiver

pytestmark = pytest.mark.slow

API = "/api/v2.0"
KEY = "replication-tests-secret-key"


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Destination]:
    """A distribution registry whose deletes are off (registry:2's default)."""
    dest = Destination(tmp_path_factory.mktemp("locked"), delete=False).start()
    try:
        yield dest
    finally:
        dest.stop()


@pytest.fixture(scope="module")
def debug_addr() -> str:
    return f"127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory, debug_addr: str) -> Iterator[RegistryProcess]:
    root = tmp_path_factory.mktemp("source") / "data"
    env = projects_env(root, DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD,
                       REGISTRY_REPLICATION_BACKOFF="0.2s", REGISTRY_REPLICATION_SECRETKEY=KEY,
                       REGISTRY_HTTP_DEBUG_ADDR=debug_addr)  # fmt: skip
    with start_registry(root, env=env) as server:
        yield server


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as got:
        yield got


@pytest.fixture(scope="module")
def api(source: RegistryProcess, receiver: WebhookReceiver) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=source.url, headers=basic("admin", ADMIN_PASSWORD),
                      timeout=30) as client:  # fmt: skip
        for project in ("gone", "held", "picked"):
            r = client.post(f"{API}/projects", json={"project_name": project})
            check_created(r, f"{API}/projects")
        hook = {"name": "replication", "enabled": True, "event_types": ["REPLICATION"],
                "targets": [{"type": "http", "address": f"{receiver.url}/hook",
                             "payload_format": "Default", "skip_cert_verify": False}]}  # fmt: skip
        r = client.post(f"{API}/projects/gone/webhook/policies", json=hook)
        check_created(r, f"{API}/projects/gone/webhook/policies")
        yield client


def _endpoint(api: httpx.Client, name: str, dest: Destination) -> int:
    body = {"name": name, "type": "docker-registry", "url": dest.url, "insecure": True,
            "credential": {"type": "basic", "access_key": dest.user,
                           "access_secret": dest.password}}  # fmt: skip
    return int(check_created(api.post(f"{API}/registries", json=body), f"{API}/registries"))


def _policy(api: httpx.Client, endpoint: int, name: str, **fields: Any) -> int:
    body = {"name": name, "dest_registry": {"id": endpoint}, "enabled": True,
            "trigger": {"type": "event_based"}, "replicate_deletion": True, **fields}  # fmt: skip
    r = api.post(f"{API}/replication/policies", json=body)
    return int(check_created(r, f"{API}/replication/policies"))


def _tasks(api: httpx.Client, policy: int) -> list[dict[str, Any]]:
    """Every task of the policy's executions, oldest first."""
    r = api.get(f"{API}/replication/executions", params={"policy_id": policy, "page_size": 50})
    out = []
    for execution in check_harbor(r.json(), "ReplicationExecution", many=True):
        got = api.get(f"{API}/replication/executions/{execution['id']}/tasks")
        out += check_harbor(got.json(), "ReplicationTask", many=True)
    return sorted(out, key=lambda t: int(t["id"]))


def _log(api: httpx.Client, task: dict[str, Any]) -> str:
    r = api.get(f"{API}/replication/executions/{task['execution_id']}/tasks/{task['id']}/log")
    assert r.status_code == 200, r.text
    return r.text


def _ended(api: httpx.Client, policy: int, operation: str) -> dict[str, Any] | None:
    done = [t for t in _tasks(api, policy) if t["operation"] == operation
            and t["status"] in ("Succeed", "Failed")]  # fmt: skip
    return done[-1] if done else None


def _metrics(debug_addr: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    page = httpx.get(f"http://{debug_addr}/metrics")
    assert page.status_code == 200, page.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(page.text)
        for s in family.samples
    }


def test_deleting_a_tag_or_a_manifest_here_deletes_it_at_the_destination(
    api: httpx.Client, destination: Destination, receiver: WebhookReceiver, debug_addr: str
) -> None:
    endpoint = _endpoint(api, "dist", destination)
    policy = _policy(api, endpoint, "gone", filters=[{"type": "name", "value": "gone/**"}])
    got = check_harbor(api.get(f"{API}/replication/policies/{policy}").json(),
                       "ReplicationPolicy")  # fmt: skip
    assert got["replicate_deletion"] is True
    v1 = push_image(api, "gone/app", "v1", seed="g1")
    v2 = push_image(api, "gone/app", "v2", seed="g2")
    wait_for(lambda: destination.digest("gone/app", "v2") == v2.digest or None, timeout=20)
    wait_for(lambda: destination.digest("gone/app", "v1") == v1.digest or None, timeout=20)

    # a tag: distribution 2.8 cannot delete it alone; no tag here names its manifest now
    assert api.delete("/v2/gone/app/manifests/v1").status_code == 202
    wait_for(lambda: destination.digest("gone/app", "v1") is None or None, timeout=20)
    task = wait_for(lambda: _ended(api, policy, "tag deletion"), timeout=20)
    assert (task["status"], task["src_resource"], task["dst_resource"]) == (
        "Succeed", "gone/app:v1", "gone/app:v1")  # fmt: skip
    assert "cannot delete a tag alone" in _log(api, task)
    # a manifest, by digest
    assert api.delete(f"/v2/gone/app/manifests/{v2.digest}").status_code == 202
    wait_for(lambda: destination.digest("gone/app", "v2") is None or None, timeout=20)
    task = wait_for(lambda: _ended(api, policy, "deletion"), timeout=20)
    log = _log(api, task)
    assert task["status"] == "Succeed" and f"deleted gone/app@{v2.digest}" in log, log
    assert destination.tags("gone/app") == []
    with destination.client() as dest:
        assert dest.head(f"/v2/gone/app/manifests/{v2.digest}").status_code == 404

    # Harbor's REPLICATION event, one per execution that ended (the copies — one execution
    # or two, as the pushes were dispatched — and the two deletions)
    expected = sorted(["app:v1", "app:v2", "app:v1", f"app@{v2.digest}"])

    def events() -> list[dict[str, Any]] | None:
        found = [r.json() for r in receiver.received]
        names = sorted(
            a["name_tag"]
            for p in found
            for a in p["event_data"]["replication"].get("successful_artifact", [])
        )
        return found if names == expected else None  # fmt: skip

    payloads = wait_for(events, timeout=30)
    assert {p["type"] for p in payloads} == {"REPLICATION"}
    replication = [p["event_data"]["replication"] for p in payloads]
    assert {r["job_status"] for r in replication} == {"Success"}
    assert {r["trigger_type"] for r in replication} == {"event_based"}
    assert {r["dest_resource"]["endpoint"] for r in replication} == {destination.url}
    assert {r["src_resource"]["namespace"] for r in replication} == {"gone"}
    assert len({r["execution_id"] for r in replication}) == len(replication)  # once each

    # the counters on the debug address
    found = _metrics(debug_addr)
    tasks = "registry_replication_tasks_total"
    assert found[(tasks, (("operation", "delete"), ("status", "succeed")))] >= 2
    assert found[(tasks, (("operation", "copy"), ("status", "succeed")))] >= 2
    pushed = found[("registry_replication_bytes_total", (("direction", "push"),))]
    assert pushed >= sum(len(b) for b in (v1.config, *v1.layers, v2.config, *v2.layers))
    assert found[("registry_replication_queue_tasks", (("status", "pending"),))] == 0


def test_a_destination_that_refuses_deletes_fails_the_task_at_once(
    api: httpx.Client, locked: Destination
) -> None:
    endpoint = _endpoint(api, "locked", locked)
    policy = _policy(api, endpoint, "held", filters=[{"type": "name", "value": "held/**"}])
    image = push_image(api, "held/app", "v1", seed="h1")
    wait_for(lambda: locked.digest("held/app", "v1") == image.digest or None, timeout=20)
    assert api.delete(f"/v2/held/app/manifests/{image.digest}").status_code == 202
    task = wait_for(lambda: _ended(api, policy, "deletion"), timeout=20)
    assert task["status"] == "Failed"
    log = _log(api, task)
    assert "unsupported" in log.lower() and "not retried" in log, log
    assert locked.digest("held/app", "v1") == image.digest  # still there


def test_a_label_filter_copies_exactly_the_labelled_artifacts_untagged_ones_by_digest(
    api: httpx.Client, destination: Destination, source: RegistryProcess
) -> None:
    prod = push_labelled(api, "picked/app", "v1", labels={"tier": "prod"}, seed="p1")
    push_labelled(api, "picked/app", "v2", labels={"tier": "dev"}, seed="p2")
    loose = push_labelled(api, "picked/app", None, labels={"tier": "prod"}, seed="p3")
    endpoint = _endpoint(api, "dist-labels", destination)
    body = {"name": "picked", "dest_registry": {"id": endpoint}, "enabled": True,
            "trigger": {"type": "manual"},
            "filters": [{"type": "name", "value": "picked/**"},
                        {"type": "label", "value": ["tier=prod"]}]}  # fmt: skip
    policy = int(check_created(api.post(f"{API}/replication/policies", json=body),
                               f"{API}/replication/policies"))  # fmt: skip
    got = check_harbor(api.get(f"{API}/replication/policies/{policy}").json(),
                       "ReplicationPolicy")  # fmt: skip
    assert got["filters"][1] == {"type": "label", "value": ["tier=prod"], "decoration": "matches"}
    r = api.post(f"{API}/replication/executions", json={"policy_id": policy})
    execution = check_created(r, f"{API}/replication/executions")

    def ended() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get(f"{API}/replication/executions/{execution}").json()
        return body if body["status"] != "InProgress" else None

    done = wait_for(ended, timeout=30)
    assert (done["status"], done["total"], done["succeed"]) == ("Succeed", 2, 2), done
    assert destination.tags("picked/app") == ["v1"]
    assert destination.digest("picked/app", "v1") == prod
    with destination.client() as dest:
        r = dest.head(f"/v2/picked/app/manifests/{loose}",
                      headers={"accept": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
        assert r.status_code == 200
    # the endpoint's secret: sealed in the database, Harbor's mask in answers
    shown = check_harbor(api.get(f"{API}/registries/{endpoint}").json(), "Registry")
    assert shown["credential"]["access_secret"] == "*****"
    if not backend.cluster():  # (on the cluster the rows are in PostgreSQL)
        with sqlite3.connect(source.root / "registry.db") as db:
            query = "SELECT access_secret FROM replication_registries"
            stored = [row[0] for row in db.execute(query)]
        assert stored and all(s.startswith("aesgcm:v1:") for s in stored)
        assert destination.password not in "".join(stored)
    # the configured key was used (no key file was made in the root directory)
    assert not (source.root / "replication.key").exists()


def test_a_pull_policy_reads_the_labels_at_the_source(
    api: httpx.Client, destination: Destination
) -> None:
    with destination.client() as remote:
        prod = push_labelled(remote, "labelled/app", "a", labels={"tier": "prod"}, seed="l1")
        push_labelled(remote, "labelled/app", "b", labels={"tier": "dev"}, seed="l2")
    endpoint = _endpoint(api, "dist-pull", destination)
    body = {"name": "pull-prod", "src_registry": {"id": endpoint}, "enabled": True,
            "trigger": {"type": "manual"}, "dest_namespace": "picked",
            "filters": [{"type": "name", "value": "labelled/**"},
                        {"type": "label", "value": ["tier=prod"]}]}  # fmt: skip
    policy = int(check_created(api.post(f"{API}/replication/policies", json=body),
                               f"{API}/replication/policies"))  # fmt: skip
    r = api.post(f"{API}/replication/executions", json={"policy_id": policy})
    execution = check_created(r, f"{API}/replication/executions")

    def ended() -> dict[str, Any] | None:
        got: dict[str, Any] = api.get(f"{API}/replication/executions/{execution}").json()
        return got if got["status"] != "InProgress" else None

    done = wait_for(ended, timeout=30)
    assert (done["status"], done["succeed"]) == ("Succeed", 2), done
    r = api.get("/v2/picked/app/tags/list")
    assert r.status_code == 200 and "a" in r.json()["tags"] and "b" not in r.json()["tags"]
    r = api.head("/v2/picked/app/manifests/a",
                 headers={"accept": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
    assert r.headers["docker-content-digest"] == prod
    (left,) = [t for t in _tasks(api, policy) if t["src_resource"] == "labelled/app:b"]
    assert "not selected by the policy's label or resource filters" in _log(api, left)
