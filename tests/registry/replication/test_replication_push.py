"""Push-based replication from a real ``dockyard registry serve`` (``auth: projects``) to a
real distribution 2.8.2 registry with htpasswd auth: endpoint registries and policies through
Harbor's API, manual and event-based executions, digests equal as skopeo reads them, a real
cosign signature travelling with its subject, a filter copying exactly what it selects,
``override`` false keeping a destination tag, nothing copied twice, blobs another
destination repository holds mounted rather than uploaded, and a policy's ``speed`` kept by
the copy its push runs."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from _infra.harbor_api import check_created, check_error
from _infra.projects_registry import ADMIN_PASSWORD, PASSWORD, basic, projects_env, wait_for
from _infra.registry_server import (
    ASGIClient,
    RegistryProcess,
    make_manifest,
    push_blob,
    push_image,
    start_registry,
)
from _infra.replication import (
    Destination,
    check_harbor,
    cosign_signature_manifest,
    skopeo_digest,
)
from dockyard.registry import Registry
from dockyard.registry.replication import NewTask
from dockyard.registry.replication import _copy as copy_module
from dockyard.registry.replication._copy import ArtifactCopy, destination_transport
from dockyard.registry.replication._policies import Policy
from dockyard.registry.replication._queue import Job
from dockyard.registry.replication._registries import RemoteRegistry
from dockyard.registry.replication._runner import task_runner

pytestmark = pytest.mark.slow

API = "/api/v2.0"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    root = tmp_path_factory.mktemp("source") / "data"
    env = projects_env(root, DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD,
                       REGISTRY_REPLICATION_BACKOFF="0.2s")  # fmt: skip
    with start_registry(root, env=env) as server:
        yield server


@pytest.fixture(scope="module")
def api(source: RegistryProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=source.url, headers=basic("admin", ADMIN_PASSWORD),
                      timeout=30) as client:  # fmt: skip
        for project in ("ship", "keep", "live", "pulled"):
            r = client.post(f"{API}/projects", json={"project_name": project})
            check_created(r, f"{API}/projects")
        yield client


@pytest.fixture(scope="module")
def endpoint(api: httpx.Client, destination: Destination) -> int:
    body = {"name": "distribution", "type": "docker-registry", "url": destination.url,
            "insecure": True, "credential": {"type": "basic", "access_key": destination.user,
                                             "access_secret": destination.password}}  # fmt: skip
    return int(check_created(api.post(f"{API}/registries", json=body), f"{API}/registries"))


def _policy(api: httpx.Client, endpoint: int, name: str, **fields: Any) -> int:
    body = {"name": name, "dest_registry": {"id": endpoint}, "enabled": True,
            "trigger": {"type": "manual"}, **fields}  # fmt: skip
    r = api.post(f"{API}/replication/policies", json=body)
    return int(check_created(r, f"{API}/replication/policies"))


def _run(api: httpx.Client, policy: int) -> dict[str, Any]:
    """Start a manual execution and wait for its end; the execution."""
    r = api.post(f"{API}/replication/executions", json={"policy_id": policy})
    execution = check_created(r, f"{API}/replication/executions")

    def ended() -> dict[str, Any] | None:
        got = api.get(f"{API}/replication/executions/{execution}")
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body if body["status"] != "InProgress" else None

    found: dict[str, Any] = check_harbor(wait_for(ended, timeout=60), "ReplicationExecution")
    return found


def _tasks(api: httpx.Client, execution: int) -> list[dict[str, Any]]:
    r = api.get(f"{API}/replication/executions/{execution}/tasks", params={"page_size": 100})
    assert r.status_code == 200, r.text
    return list(check_harbor(r.json(), "ReplicationTask", many=True))


def _log(api: httpx.Client, execution: int, task: int) -> str:
    r = api.get(f"{API}/replication/executions/{execution}/tasks/{task}/log")
    assert r.status_code == 200, r.text
    return r.text


def test_endpoint_registries_keep_their_secret_and_are_for_administrators(
    api: httpx.Client, endpoint: int, destination: Destination, source: RegistryProcess
) -> None:
    got = check_harbor(api.get(f"{API}/registries/{endpoint}").json(), "Registry")
    assert got["credential"] == {"type": "basic", "access_key": destination.user,
                                 "access_secret": "*****"}  # fmt: skip
    listed = check_harbor(api.get(f"{API}/registries").json(), "Registry", many=True)
    assert [r["name"] for r in listed] == ["distribution"]
    assert api.post(f"{API}/registries/ping", json={"id": endpoint}).status_code == 200
    wrong = {"id": endpoint, "access_key": destination.user, "access_secret": "wrong"}
    message = check_error(api.post(f"{API}/registries/ping", json=wrong), 400, "BAD_REQUEST")
    assert destination.url in message
    # a blank secret in an update keeps the stored one
    r = api.put(f"{API}/registries/{endpoint}", json={"description": "dist", "access_secret": ""})
    assert r.status_code == 200, r.text
    assert api.post(f"{API}/registries/ping", json={"id": endpoint}).status_code == 200
    dup = {"name": "distribution", "type": "docker-registry", "url": destination.url}
    check_error(api.post(f"{API}/registries", json=dup), 409, "CONFLICT")
    bad = {"name": "x", "type": "docker-registry", "url": "ftp://example"}
    check_error(api.post(f"{API}/registries", json=bad), 400, "BAD_REQUEST")
    # a user who is no system administrator may not see them
    r = api.post(
        f"{API}/users",
        json={
            "username": "dev",
            "password": PASSWORD,
            "email": "dev@example.com",
            "realname": "Dev",
        },
    )
    assert r.status_code == 201, r.text
    with httpx.Client(base_url=source.url, headers=basic("dev", PASSWORD)) as dev:
        check_error(dev.get(f"{API}/registries"), 403, "FORBIDDEN")
        check_error(dev.get(f"{API}/replication/policies"), 403, "FORBIDDEN")


def test_manual_replication_copies_exactly_the_selected_set_with_signatures(
    api: httpx.Client, endpoint: int, destination: Destination
) -> None:
    v1 = push_image(api, "ship/app", "v1", seed="a1")
    v2 = push_image(api, "ship/app", "v2", seed="a2")
    push_image(api, "ship/app", "dev-1", seed="a3")  # the tag filter leaves it
    push_image(api, "ship/tools/cli", "v1", seed="a4")  # the name filter leaves it
    signature = cosign_signature_manifest(push_blob, api, "ship/app")
    sig_tag = "sha256-" + v1.digest.partition(":")[2] + ".sig"
    r = api.put(f"/v2/ship/app/manifests/{sig_tag}", content=signature,
                headers={"content-type": OCI_MANIFEST})  # fmt: skip
    assert r.status_code == 201, r.text
    policy = _policy(
        api, endpoint, "ship-apps", dest_namespace="mirror", dest_namespace_replace_count=1,
        filters=[{"type": "name", "value": "ship/*"}, {"type": "tag", "value": "v*"}],
    )  # fmt: skip
    got = check_harbor(api.get(f"{API}/replication/policies/{policy}").json(),
                       "ReplicationPolicy")  # fmt: skip
    assert got["dest_registry"]["credential"]["access_secret"] == "*****"
    execution = _run(api, policy)
    assert (execution["status"], execution["total"], execution["succeed"]) == ("Succeed", 2, 2)
    # exactly the selected tags, their digests equal, the signature with its subject
    assert destination.tags("mirror/app") == sorted(["v1", "v2", sig_tag])
    assert destination.tags("mirror/cli") == []
    assert skopeo_digest(destination, "mirror/app", "v1") == v1.digest
    assert skopeo_digest(destination, "mirror/app", "v2") == v2.digest
    assert destination.digest("mirror/app", sig_tag) == (
        "sha256:" + hashlib.sha256(signature).hexdigest()
    )
    tasks = _tasks(api, execution["id"])
    assert sorted(t["src_resource"] for t in tasks) == ["ship/app:v1", "ship/app:v2"]
    assert {t["dst_resource"] for t in tasks} == {"mirror/app:v1", "mirror/app:v2"}
    assert all(t["status"] == "Succeed" for t in tasks)
    first = {t["src_resource"]: t for t in tasks}["ship/app:v1"]
    assert f"copied accessory ship/app:{sig_tag}" in _log(api, execution["id"], first["id"])
    # nothing is copied twice: a second run finds every blob and manifest there
    again = _run(api, policy)
    assert again["succeed"] == 2
    for task in _tasks(api, again["id"]):
        assert "0 manifest(s) and 0 blob(s) (0 bytes) copied" in _log(api, again["id"], task["id"])
    # a repository holding the same blobs: they are mounted at the destination, not uploaded
    twin = push_image(api, "ship/copy", "v1", seed="a1")
    policy = _policy(api, endpoint, "ship-copy", dest_namespace="mirror",
                     filters=[{"type": "name", "value": "ship/copy"}])  # fmt: skip
    execution = _run(api, policy)
    assert execution["succeed"] == 1
    (task,) = _tasks(api, execution["id"])
    log = _log(api, execution["id"], task["id"])
    assert "0 blob(s) (0 bytes) copied, 3 blob(s) mounted" in log, log
    assert skopeo_digest(destination, "mirror/copy", "v1") == twin.digest == v1.digest


def test_override_false_keeps_the_destination_tag(
    api: httpx.Client, endpoint: int, destination: Destination
) -> None:
    with destination.client() as dest:
        theirs = push_image(dest, "keep/app", "v1", seed="theirs")
    ours = push_image(api, "keep/app", "v1", seed="ours")
    push_image(api, "keep/app", "v2", seed="ours-2")
    policy = _policy(api, endpoint, "keep", override=False,
                     filters=[{"type": "name", "value": "keep/**"}])  # fmt: skip
    execution = _run(api, policy)
    assert execution["status"] == "Succeed"
    assert skopeo_digest(destination, "keep/app", "v1") == theirs.digest != ours.digest
    assert destination.tags("keep/app") == ["v1", "v2"]
    task = next(t for t in _tasks(api, execution["id"]) if t["src_resource"] == "keep/app:v1")
    assert "override is off: left alone" in _log(api, execution["id"], task["id"])


def test_event_based_replication_follows_a_push_within_seconds(
    api: httpx.Client, endpoint: int, destination: Destination
) -> None:
    policy = _policy(api, endpoint, "live", trigger={"type": "event_based"},
                     filters=[{"type": "name", "value": "live/**"},
                              {"type": "tag", "value": "release-*"}])  # fmt: skip
    pushed = push_image(api, "live/web", "release-1", seed="live-1")
    push_image(api, "live/web", "scratch", seed="live-2")  # not selected: never copied
    wait_for(lambda: destination.digest("live/web", "release-1"), timeout=15)
    assert skopeo_digest(destination, "live/web", "release-1") == pushed.digest
    r = api.get(f"{API}/replication/executions", params={"policy_id": policy})
    executions = check_harbor(r.json(), "ReplicationExecution", many=True)
    assert {e["trigger"] for e in executions} == {"event_based"}
    assert sum(e["total"] for e in executions) == 1
    assert destination.tags("live/web") == ["release-1"]


def test_policies_are_checked_and_deleting_an_endpoint_in_use_is_refused(
    api: httpx.Client, endpoint: int
) -> None:
    base = {"name": "bad", "dest_registry": {"id": endpoint}}
    for wrong in (
        {"filters": [{"type": "name", "value": "a/[b"}]},
        {"filters": [{"type": "label", "value": "x", "decoration": "maybe"}]},
        {"filters": [{"type": "resource", "value": "chart"}]},
        {"trigger": {"type": "sometimes"}},
        {"src_registry": {"id": endpoint}},
        {"dest_registry": {"id": 999}},
    ):
        check_error(api.post(f"{API}/replication/policies", json={**base, **wrong}), 400,
                    "BAD_REQUEST")  # fmt: skip
    check_error(api.delete(f"{API}/registries/{endpoint}"), 412, "PRECONDITION")
    listed = check_harbor(api.get(f"{API}/replication/policies").json(), "ReplicationPolicy",
                          many=True)  # fmt: skip
    assert "bad" not in {p["name"] for p in listed}


def test_pull_replication_brings_exactly_the_selected_set_here(
    api: httpx.Client, endpoint: int, destination: Destination
) -> None:
    with destination.client() as remote:
        v1 = push_image(remote, "upstream/app", "v1", seed="p1")
        v2 = push_image(remote, "upstream/app", "v2", seed="p2")
        push_image(remote, "upstream/app", "dev", seed="p3")  # the tag filter leaves it
        push_image(remote, "elsewhere/app", "v1", seed="p4")  # the name filter leaves it
        signature = cosign_signature_manifest(push_blob, remote, "upstream/app")
        sig_tag = "sha256-" + v1.digest.partition(":")[2] + ".sig"
        r = remote.put(f"/v2/upstream/app/manifests/{sig_tag}", content=signature,
                       headers={"content-type": OCI_MANIFEST})  # fmt: skip
        assert r.status_code == 201, r.text
    policy = _policy(
        api, endpoint, "pull-upstream", dest_registry=None, src_registry={"id": endpoint},
        dest_namespace="pulled",
        filters=[{"type": "name", "value": "upstream/**"}, {"type": "tag", "value": "v*"}],
    )  # fmt: skip
    got = check_harbor(api.get(f"{API}/replication/policies/{policy}").json(),
                       "ReplicationPolicy")  # fmt: skip
    assert (got["src_registry"]["id"], got["dest_registry"]["id"]) == (endpoint, 0)
    execution = _run(api, policy)
    assert (execution["status"], execution["succeed"]) == ("Succeed", 2), execution
    r = api.get("/v2/pulled/app/tags/list")
    assert sorted(r.json()["tags"]) == sorted(["v1", "v2", sig_tag])
    for tag, image in (("v1", v1), ("v2", v2)):
        r = api.head(f"/v2/pulled/app/manifests/{tag}", headers={"accept": OCI_MANIFEST})
        assert r.headers["docker-content-digest"] == image.digest
    r = api.get(f"/v2/pulled/app/manifests/{sig_tag}", headers={"accept": OCI_MANIFEST})
    assert r.content == signature
    for blob in v1.layers:  # the layers arrived whole
        r = api.get(f"/v2/pulled/app/blobs/sha256:{hashlib.sha256(blob).hexdigest()}")
        assert r.status_code == 200 and r.content == blob
    # a pull-based policy cannot follow pushes it does not see
    body = {"name": "pull-events", "src_registry": {"id": endpoint},
            "trigger": {"type": "event_based"}}  # fmt: skip
    check_error(api.post(f"{API}/replication/policies", json=body), 400, "BAD_REQUEST")


def test_a_push_keeps_to_the_policys_speed(
    registry: Registry,
    client: ASGIClient,
    destination: Destination,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A push policy's ``speed`` (KB/s) reaches the copy its task runs: a 256 KiB layer sent at
    64 KB/s is 4 s ahead of its budget by its last piece (the waits asked for are recorded,
    not slept); the same policy without ``speed`` waits for nothing."""
    layer = bytes(range(256)) * 1024  # 256 KiB
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": "speed"}).encode()
    for blob in (config, layer):
        push_blob(client, "fast/app", blob)
        push_blob(client, "slow/app", blob)
    manifest = make_manifest(config, [layer])
    for name in ("fast/app", "slow/app"):
        r = client.put(f"/v2/{name}/manifests/v1", content=manifest,
                       headers={"content-type": OCI_MANIFEST})  # fmt: skip
        assert r.status_code == 201, r.text
    waits: list[float] = []

    class Clock:  # _copy's time: the real clock, waits recorded
        monotonic = staticmethod(time.monotonic)

        @staticmethod
        def sleep(seconds: float) -> None:
            waits.append(seconds)

    monkeypatch.setattr(copy_module, "time", Clock)
    endpoint = RemoteRegistry(id=1, name="d", type="docker-registry", url=destination.url,
                              insecure=True, access_key=destination.user,
                              access_secret=destination.password)  # fmt: skip
    transport = destination_transport(endpoint)

    def run(policy: Policy, repository: str) -> int:
        task = NewTask(repository, "v1", f"speed/{repository}", "v1")
        job = Job(id=1, run_count=0, max_attempts=3, backoff=1.0, lease="l", execution_id=1,
                  policy_id=policy.id, task=task)  # fmt: skip
        runner = task_runner(registry, policy, job, transport, destination.url,
                             lambda: None, {})  # fmt: skip
        assert isinstance(runner, ArtifactCopy)  # a push policy: a push copy
        return runner.run(task).bytes_copied

    assert run(Policy(id=1, name="open", dest_registry_id=1), "fast/app") == len(config) + len(
        layer
    )
    assert waits == []  # no speed: no wait
    limited = Policy(id=2, name="slow", dest_registry_id=1, speed=64)
    assert run(limited, "slow/app") == len(config) + len(layer)
    assert 3.5 < max(waits) <= len(layer) / (64 * 1024), waits
    assert destination.digest("speed/slow/app", "v1") == (
        "sha256:" + hashlib.sha256(manifest).hexdigest()
    )
    with destination.client() as remote:
        r = remote.get(f"/v2/speed/slow/app/blobs/sha256:{hashlib.sha256(layer).hexdigest()}")
        assert r.status_code == 200 and r.content == layer
