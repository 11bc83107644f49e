"""Push replication into another dockyard registry in ``auth: projects`` mode, named as an
endpoint of type ``harbor``: the destination project is made before the first copy when it
does not exist yet (Harbor's ``PrepareForPush``), private unless the source project is
public; a credential that may not create projects there fails the task at once with a clear
message; a destination project that is a proxy cache project is not pushed into. Two real
``dockyard registry serve`` processes, the policies through Harbor's API."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from _infra.harbor_api import check_created
from _infra.projects_registry import ADMIN_PASSWORD, basic, projects_env, wait_for
from _infra.registry_server import (
    OCI_MANIFEST,
    RegistryProcess,
    push_blob,
    push_image,
    start_registry,
)
from _infra.replication import check_harbor, cosign_signature_manifest

pytestmark = pytest.mark.slow

API = "/api/v2.0"
ACCEPT = {"accept": f"{OCI_MANIFEST}, application/vnd.oci.image.index.v1+json"}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    root = tmp_path_factory.mktemp("source") / "data"
    env = projects_env(root, DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD,
                       REGISTRY_REPLICATION_BACKOFF="0.2s")  # fmt: skip
    with start_registry(root, env=env) as server:
        yield server


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """The destination: another dockyard registry in projects mode, with no project yet."""
    root = tmp_path_factory.mktemp("target") / "data"
    env = projects_env(root, DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD)
    with start_registry(root, env=env) as server:
        yield server


@pytest.fixture(scope="module")
def api(source: RegistryProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=source.url, headers=basic("admin", ADMIN_PASSWORD),
                      timeout=30) as client:  # fmt: skip
        yield client


@pytest.fixture(scope="module")
def remote(target: RegistryProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=target.url, headers=basic("admin", ADMIN_PASSWORD),
                      timeout=30) as client:  # fmt: skip
        yield client


def _endpoint(api: httpx.Client, target: RegistryProcess, name: str, user: str,
              secret: str) -> int:  # fmt: skip
    body = {"name": name, "type": "harbor", "url": target.url, "insecure": True,
            "credential": {"type": "basic", "access_key": user, "access_secret": secret}}  # fmt: skip
    return int(check_created(api.post(f"{API}/registries", json=body), f"{API}/registries"))


def _policy(api: httpx.Client, endpoint: int, name: str, **fields: Any) -> int:
    body = {"name": name, "dest_registry": {"id": endpoint}, "enabled": True,
            "trigger": {"type": "manual"}, **fields}  # fmt: skip
    r = api.post(f"{API}/replication/policies", json=body)
    return int(check_created(r, f"{API}/replication/policies"))


def _run(api: httpx.Client, policy: int) -> dict[str, Any]:
    """A manual execution of ``policy``, waited for; the execution."""
    r = api.post(f"{API}/replication/executions", json={"policy_id": policy})
    execution = check_created(r, f"{API}/replication/executions")

    def ended() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get(f"{API}/replication/executions/{execution}").json()
        return body if body["status"] != "InProgress" else None

    found: dict[str, Any] = check_harbor(wait_for(ended, timeout=60), "ReplicationExecution")
    return found


def _logs(api: httpx.Client, execution: int) -> list[tuple[dict[str, Any], str]]:
    r = api.get(f"{API}/replication/executions/{execution}/tasks", params={"page_size": 100})
    tasks = check_harbor(r.json(), "ReplicationTask", many=True)
    return [
        (t, api.get(f"{API}/replication/executions/{execution}/tasks/{t['id']}/log").text)
        for t in tasks
    ]


def _project(remote: httpx.Client, name: str) -> dict[str, Any] | None:
    r = remote.get(f"{API}/projects/{name}", headers={"X-Is-Resource-Name": "true"})
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return dict(check_harbor(r.json(), "Project"))


def _digest(remote: httpx.Client, repository: str, reference: str) -> str | None:
    r = remote.head(f"/v2/{repository}/manifests/{reference}", headers=ACCEPT)
    return r.headers["docker-content-digest"] if r.status_code == 200 else None


def test_event_based_push_makes_the_missing_destination_project_and_copies_into_it(
    api: httpx.Client, remote: httpx.Client, source: RegistryProcess, target: RegistryProcess
) -> None:
    check_created(api.post(f"{API}/projects", json={"project_name": "ship"}), f"{API}/projects")
    check_created(api.post(f"{API}/projects", json={"project_name": "open", "public": True}),
                  f"{API}/projects")  # fmt: skip
    assert _project(remote, "ship") is None and _project(remote, "open") is None
    endpoint = _endpoint(api, target, "dockyard-b", "admin", ADMIN_PASSWORD)
    _policy(api, endpoint, "everything", trigger={"type": "event_based"},
            filters=[{"type": "name", "value": "{ship,open}/**"}])  # fmt: skip

    image = push_image(api, "ship/app", "v1", seed="p1")
    signature = cosign_signature_manifest(push_blob, api, "ship/app")
    sig_tag = "sha256-" + image.digest.partition(":")[2] + ".sig"
    r = api.put(f"/v2/ship/app/manifests/{sig_tag}", content=signature,
                headers={"content-type": OCI_MANIFEST})  # fmt: skip
    assert r.status_code == 201, r.text
    web = push_image(api, "open/web", "v1", seed="p2")

    def arrived() -> bool:
        return (_digest(remote, "ship/app", "v1") == image.digest
                and _digest(remote, "ship/app", sig_tag) is not None
                and _digest(remote, "open/web", "v1") == web.digest)  # fmt: skip

    wait_for(arrived, timeout=30, explain=lambda: source.log.read_text()[-3000:])
    assert _digest(remote, "ship/app", sig_tag) == (
        "sha256:" + hashlib.sha256(signature).hexdigest()
    )
    # the destination's own API sees the copies in the projects made for them
    ship, opened = _project(remote, "ship"), _project(remote, "open")
    assert ship is not None and opened is not None
    assert ship["metadata"]["public"] == "false"  # as the source project: private
    assert opened["metadata"]["public"] == "true"  # as the source project: public
    assert ship["owner_name"] == "admin"  # made with the endpoint's credential
    r = remote.get(f"{API}/projects/ship/repositories/app/artifacts/v1")
    assert r.status_code == 200, r.text
    assert r.json()["digest"] == image.digest
    with httpx.Client(base_url=target.url, timeout=30) as anonymous:  # as anyone sees them
        listed = anonymous.get(f"{API}/projects").json()
        assert [p["name"] for p in listed] == ["open"]


def test_a_credential_that_may_not_create_projects_fails_the_task_at_once(
    api: httpx.Client, remote: httpx.Client, target: RegistryProcess
) -> None:
    check_created(remote.post(f"{API}/projects", json={"project_name": "team"}),
                  f"{API}/projects")  # fmt: skip
    body = {"name": "pusher", "level": "project", "duration": -1, "permissions": [
        {"kind": "project", "namespace": "team", "access": [
            {"resource": "repository", "action": "pull"},
            {"resource": "repository", "action": "push"}]}]}  # fmt: skip
    r = remote.post(f"{API}/robots", json=body)
    assert r.status_code == 201, r.text
    robot, secret = r.json()["name"], r.json()["secret"]
    check_created(api.post(f"{API}/projects", json={"project_name": "deny"}), f"{API}/projects")
    image = push_image(api, "deny/app", "v1", seed="d1")
    endpoint = _endpoint(api, target, "dockyard-robot", robot, secret)
    # the robot may push into team, but may not make the project "elsewhere"
    policy = _policy(api, endpoint, "robot-new", dest_namespace="elsewhere",
                     filters=[{"type": "name", "value": "deny/**"}])  # fmt: skip
    execution = _run(api, policy)
    assert execution["status"] == "Failed", execution
    [(task, log)] = _logs(api, execution["id"])
    assert task["status"] == "Failed"
    assert "attempt 1/" in log and "attempt 2/" not in log, log  # not retried
    assert "project 'elsewhere' does not exist at" in log, log
    assert f"{robot!r} may not create it there" in log, log
    assert _project(remote, "elsewhere") is None
    # into a project it exists and the robot may push to, the same credential copies
    policy = _policy(api, endpoint, "robot-team", dest_namespace="team",
                     filters=[{"type": "name", "value": "deny/**"}])  # fmt: skip
    execution = _run(api, policy)
    assert execution["status"] == "Succeed", _logs(api, execution["id"])
    assert _digest(remote, "team/app", "v1") == image.digest


def test_a_proxy_cache_project_at_the_destination_is_not_pushed_into(
    api: httpx.Client, remote: httpx.Client, source: RegistryProcess, target: RegistryProcess
) -> None:
    upstream = {"name": "upstream", "type": "docker-registry", "url": source.url}
    registry_id = int(check_created(remote.post(f"{API}/registries", json=upstream),
                                    f"{API}/registries"))  # fmt: skip
    r = remote.post(f"{API}/projects", json={"project_name": "cache", "registry_id": registry_id})
    check_created(r, f"{API}/projects")
    check_created(api.post(f"{API}/projects", json={"project_name": "cached"}), f"{API}/projects")
    push_image(api, "cached/app", "v1", seed="c1")
    endpoint = _endpoint(api, target, "dockyard-cache", "admin", ADMIN_PASSWORD)
    policy = _policy(api, endpoint, "into-cache", dest_namespace="cache",
                     filters=[{"type": "name", "value": "cached/**"}])  # fmt: skip
    execution = _run(api, policy)
    assert execution["status"] == "Succeed", execution
    [(_, log)] = _logs(api, execution["id"])
    assert "destination project 'cache'" in log and "is a proxy cache project" in log, log
    assert "copied cached/app:v1" not in log, log
    r = remote.get(f"{API}/projects/cache/repositories", headers={"X-Is-Resource-Name": "true"})
    assert r.status_code == 200 and r.json() == [], r.text


def test_a_harbor_endpoint_without_projects_is_pushed_into_as_any_registry(
    api: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A dockyard registry without ``auth: projects`` answers its projects API with 412:
    nothing to prepare there, the copy goes ahead."""
    root = tmp_path_factory.mktemp("plain") / "data"
    with start_registry(root) as plain:
        check_created(api.post(f"{API}/projects", json={"project_name": "flat"}),
                      f"{API}/projects")  # fmt: skip
        image = push_image(api, "flat/app", "v1", seed="f1")
        body = {"name": "plain", "type": "harbor", "url": plain.url, "insecure": True}
        endpoint = int(check_created(api.post(f"{API}/registries", json=body),
                                     f"{API}/registries"))  # fmt: skip
        assert httpx.get(f"{plain.url}{API}/projects").status_code == 412
        policy = _policy(
            api, endpoint, "into-plain", filters=[{"type": "name", "value": "flat/**"}]
        )
        execution = _run(api, policy)
        assert execution["status"] == "Succeed", _logs(api, execution["id"])
        with httpx.Client(base_url=plain.url, timeout=30) as client:
            assert _digest(client, "flat/app", "v1") == image.digest
