"""Pull-based replication into a real ``dockyard registry serve`` (``auth: projects``) from a
real distribution 2.8.2 registry (htpasswd auth, no referrers API) and from a second real
dockyard registry (an endpoint of type ``harbor``):

- signatures made by ``dockyard sign`` travel with their subject: cosign's ``.sig`` tag, and
  an OCI 1.1 referrer found through the referrers tag ``sha256-<hex>`` where the source has no
  referrers API, or through the referrers API where it has one; ``dockyard verify`` finds both
  here, and the referrers tag itself is not copied (this registry has the API);
- untagged artifacts come from a source that can list them (Harbor's artifacts API) as the
  tag filters take them, and not from distribution, which cannot;
- a scheduled pull policy's filters select exactly the matching set at the source;
- ``replicate_deletion`` on a pull policy is kept and does nothing, as in Harbor;
- the other way, a push to distribution 2.8.2 carries a subject's OCI referrers and keeps
  the referrers tag there up to date, so ``dockyard verify`` finds the signature there;
- an execution stopped by hand sends its ``REPLICATION`` event (``job_status`` Stopped) once."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from _infra import run_dockyard
from _infra.harbor_api import check_created
from _infra.projects_registry import ADMIN_PASSWORD, basic, projects_env, wait_for
from _infra.registry_server import (
    RegistryProcess,
    free_port,
    make_manifest,
    push_blob,
    push_image,
    start_registry,
)
from _infra.replication import Destination, check_harbor
from _infra.webhook_sink import WebhookReceiver
from dockyard.registry import Registry
from dockyard.registry.replication import NewTask
from dockyard.registry.replication import _copy as copy_module
from dockyard.registry.replication._copy import destination_transport
from dockyard.registry.replication._pull import PullCopy
from dockyard.registry.replication._registries import RemoteRegistry

pytestmark = pytest.mark.slow

API = "/api/v2.0"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPT = f"{OCI_MANIFEST}, {OCI_INDEX}"
COSIGN_SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
SBOM = "application/spdx+json"
COSIGN_PASSWORD = {"COSIGN_PASSWORD": "pull-tests-pw"}


def _serve(root: Path) -> Iterator[RegistryProcess]:
    env = projects_env(root, DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD,
                       REGISTRY_REPLICATION_BACKOFF="0.2s")  # fmt: skip
    with start_registry(root, env=env) as server:
        yield server


@pytest.fixture(scope="module")
def here(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """The registry artifacts are pulled into."""
    yield from _serve(tmp_path_factory.mktemp("here") / "data")


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """A dockyard registry as the source (Harbor's API, the referrers API)."""
    yield from _serve(tmp_path_factory.mktemp("upstream") / "data")


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as got:
        yield got


def _admin(server: RegistryProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=basic("admin", ADMIN_PASSWORD), timeout=30)


@pytest.fixture(scope="module")
def api(here: RegistryProcess, receiver: WebhookReceiver) -> Iterator[httpx.Client]:
    with _admin(here) as client:
        for project in ("pulled", "loose", "kept", "stuck", "timed", "out"):
            r = client.post(f"{API}/projects", json={"project_name": project})
            check_created(r, f"{API}/projects")
        hook = {"name": "replication", "enabled": True, "event_types": ["REPLICATION"],
                "targets": [{"type": "http", "address": f"{receiver.url}/hook",
                             "payload_format": "Default", "skip_cert_verify": False}]}  # fmt: skip
        r = client.post(f"{API}/projects/stuck/webhook/policies", json=hook)
        check_created(r, f"{API}/projects/stuck/webhook/policies")
        yield client


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A cosign key pair and a dockyard root whose docker config holds the logins."""
    base = tmp_path_factory.mktemp("signer")
    prefix = base / "cosign"
    env = {**COSIGN_PASSWORD, "DOCKER_CONFIG": str(base / "docker")}
    run_dockyard("generate-key-pair", "--output-key-prefix", prefix, root=base / "s", env=env)
    return {"root": base / "s", "env": env, "key": prefix.with_suffix(".key"),
            "pub": prefix.with_suffix(".pub")}  # fmt: skip


def _login(signer: dict[str, Any], host: str, user: str, password: str) -> None:
    run_dockyard("login", "-u", user, "--password-stdin", "--insecure", host,
                 input=password, root=signer["root"], env=signer["env"])  # fmt: skip


def _sign(signer: dict[str, Any], image: str, *flags: str) -> None:
    run_dockyard("sign", *flags, "--key", signer["key"], image, root=signer["root"],
                 env=signer["env"])  # fmt: skip


def _endpoint(api: httpx.Client, name: str, url: str, user: str, password: str,
              kind: str = "docker-registry") -> int:  # fmt: skip
    body = {"name": name, "type": kind, "url": url, "insecure": True,
            "credential": {"type": "basic", "access_key": user, "access_secret": password}}  # fmt: skip
    return int(check_created(api.post(f"{API}/registries", json=body), f"{API}/registries"))


def _policy(api: httpx.Client, name: str, **fields: Any) -> int:
    body = {"name": name, "enabled": True, "trigger": {"type": "manual"}, **fields}
    r = api.post(f"{API}/replication/policies", json=body)
    return int(check_created(r, f"{API}/replication/policies"))


def _execution(api: httpx.Client, execution: int) -> dict[str, Any]:
    got = api.get(f"{API}/replication/executions/{execution}")
    assert got.status_code == 200, got.text
    found: dict[str, Any] = check_harbor(got.json(), "ReplicationExecution")
    return found


def _run(api: httpx.Client, policy: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Start a manual execution, wait for its end; the execution and its tasks."""
    r = api.post(f"{API}/replication/executions", json={"policy_id": policy})
    execution = int(check_created(r, f"{API}/replication/executions"))

    def ended() -> dict[str, Any] | None:
        body = _execution(api, execution)
        return body if body["status"] != "InProgress" else None

    found = wait_for(ended, timeout=60)
    r = api.get(f"{API}/replication/executions/{execution}/tasks", params={"page_size": 100})
    assert r.status_code == 200, r.text
    return found, list(check_harbor(r.json(), "ReplicationTask", many=True))


def _manifest(client: httpx.Client, repository: str, reference: str) -> httpx.Response:
    return client.get(f"/v2/{repository}/manifests/{reference}", headers={"accept": ACCEPT})


def _referrers(client: httpx.Client, repository: str, digest: str) -> list[dict[str, Any]]:
    r = client.get(f"/v2/{repository}/referrers/{digest}")
    assert r.status_code == 200, r.text
    return list(r.json()["manifests"])


def test_signatures_travel_from_a_source_without_the_referrers_api(
    api: httpx.Client, here: RegistryProcess, destination: Destination, signer: dict[str, Any]
) -> None:
    with destination.client() as remote:
        v1 = push_image(remote, "sig/app", "v1", seed="s1")
        loose = push_image(remote, "sig/app", None, seed="s2")  # untagged: not listable there
        assert remote.get("/v2/sig/app/referrers/" + v1.digest).status_code == 404
    _login(signer, destination.host, destination.user, destination.password)
    image = f"{destination.host}/sig/app@{v1.digest}"
    _sign(signer, image)  # cosign's tag sha256-<hex>.sig
    _sign(signer, image, "--referrers")  # an OCI referrer, listed by the referrers tag
    hex_ = v1.digest.partition(":")[2]
    fallback, sig_tag = f"sha256-{hex_}", f"sha256-{hex_}.sig"
    assert destination.tags("sig/app") == sorted(["v1", fallback, sig_tag])
    with destination.client() as remote:
        [listed] = json.loads(_manifest(remote, "sig/app", fallback).content)["manifests"]
        referrer = _manifest(remote, "sig/app", listed["digest"]).content
        signature = _manifest(remote, "sig/app", sig_tag).content

    endpoint = _endpoint(api, "dist", destination.url, destination.user, destination.password)
    # no tag filter: untagged artifacts are selected, but distribution cannot list them
    policy = _policy(api, "pull-signed", src_registry={"id": endpoint}, dest_namespace="pulled",
                     filters=[{"type": "name", "value": "sig/**"}])  # fmt: skip
    execution, tasks = _run(api, policy)
    assert (execution["status"], execution["total"]) == ("Succeed", 1), execution
    r = api.get("/v2/pulled/app/tags/list")
    assert sorted(r.json()["tags"]) == sorted(["v1", sig_tag])  # no referrers tag here
    assert _manifest(api, "pulled/app", sig_tag).content == signature
    [entry] = _referrers(api, "pulled/app", v1.digest)
    assert (entry["digest"], entry["artifactType"]) == (listed["digest"], COSIGN_SIG)
    assert _manifest(api, "pulled/app", listed["digest"]).content == referrer
    assert _manifest(api, "pulled/app", loose.digest).status_code == 404
    # both signatures verify here, as they did at the source
    _login(signer, here.host, "admin", ADMIN_PASSWORD)
    out = run_dockyard("verify", "--key", signer["pub"], f"{here.host}/pulled/app:v1",
                       root=signer["root"], env=signer["env"])  # fmt: skip
    assert len(json.loads(out.stdout)) == 2

    # again: everything is here, nothing is copied twice
    again, tasks = _run(api, policy)
    assert again["status"] == "Succeed", again
    log = api.get(f"{API}/replication/executions/{again['id']}/tasks/{tasks[0]['id']}/log").text
    assert "0 manifest(s) and 0 blob(s) (0 bytes) copied" in log, log


def test_referrers_and_untagged_artifacts_come_from_a_dockyard_source(
    api: httpx.Client, upstream: RegistryProcess
) -> None:
    with _admin(upstream) as up:
        check_created(up.post(f"{API}/projects", json={"project_name": "up"}), f"{API}/projects")
        v1 = push_image(up, "up/app", "v1", seed="u1")
        dev = push_image(up, "up/app", "dev", seed="u2")
        loose = push_image(up, "up/app", None, seed="u3")
        subject = {"mediaType": OCI_MANIFEST, "digest": v1.digest, "size": len(v1.manifest)}
        sbom = push_image(up, "up/app", None, seed="u4", artifactType=SBOM, subject=subject)
        # a referrer of the referrer (a signature of the SBOM)
        of_sbom = {"mediaType": OCI_MANIFEST, "digest": sbom.digest, "size": len(sbom.manifest)}
        sbom_sig = push_image(up, "up/app", None, seed="u5", artifactType=COSIGN_SIG,
                              subject=of_sbom)  # fmt: skip
        assert [e["digest"] for e in _referrers(up, "up/app", v1.digest)] == [sbom.digest]
    endpoint = _endpoint(api, "dockyard", upstream.url, "admin", ADMIN_PASSWORD, "harbor")

    # no tag filter: the tagged artifacts and the untagged top-level one (not the referrers)
    every = _policy(api, "pull-every", src_registry={"id": endpoint}, dest_namespace="loose",
                    filters=[{"type": "name", "value": "up/**"}])  # fmt: skip
    execution, tasks = _run(api, every)
    assert execution["status"] == "Succeed", execution
    assert len(tasks) == 3, tasks
    for image in (v1, dev, loose, sbom, sbom_sig):
        got = _manifest(api, "loose/app", image.digest)
        assert got.status_code == 200 and got.content == image.manifest, image.digest
    assert sorted(api.get("/v2/loose/app/tags/list").json()["tags"]) == ["dev", "v1"]
    assert [e["digest"] for e in _referrers(api, "loose/app", v1.digest)] == [sbom.digest]
    assert _referrers(api, "loose/app", v1.digest)[0]["artifactType"] == SBOM
    assert [e["digest"] for e in _referrers(api, "loose/app", sbom.digest)] == [sbom_sig.digest]
    r = api.get(f"{API}/projects/loose/repositories/app/artifacts", params={"q": "tags=nil"})
    assert [a["digest"] for a in r.json()] == [loose.digest]

    # a tag filter that does not take the empty tag leaves the untagged artifact
    tagged = _policy(api, "pull-tagged", src_registry={"id": endpoint}, dest_namespace="kept",
                     filters=[{"type": "name", "value": "up/**"},
                              {"type": "tag", "value": "v*"}])  # fmt: skip
    execution, tasks = _run(api, tagged)
    assert (execution["status"], len(tasks)) == ("Succeed", 1), (execution, tasks)
    assert api.get("/v2/kept/app/tags/list").json()["tags"] == ["v1"]
    assert _manifest(api, "kept/app", loose.digest).status_code == 404
    assert _manifest(api, "kept/app", dev.digest).status_code == 404
    assert [e["digest"] for e in _referrers(api, "kept/app", v1.digest)] == [sbom.digest]


def test_a_pull_label_filter_reads_the_labels_attached_at_a_dockyard_source(
    api: httpx.Client, upstream: RegistryProcess
) -> None:
    """A Harbor-API source: a label filter matches the labels attached there by hand (read
    through its artifacts API), beside those the images carry."""
    with _admin(upstream) as up:
        check_created(up.post(f"{API}/projects", json={"project_name": "lab"}),
                      f"{API}/projects")  # fmt: skip
        marked = push_image(up, "lab/app", "v1", seed="lab1")
        push_image(up, "lab/app", "v2", seed="lab2")
        r = up.post(f"{API}/labels", json={"name": "release", "scope": "g"})
        label = check_created(r, f"{API}/labels")
        r = up.post(f"{API}/projects/lab/repositories/app/artifacts/v1/labels",
                    json={"id": int(label)})  # fmt: skip
        assert r.status_code == 200, r.text
    check_created(api.post(f"{API}/projects", json={"project_name": "labelled"}),
                  f"{API}/projects")  # fmt: skip
    endpoint = _endpoint(api, "dockyard-labels", upstream.url, "admin", ADMIN_PASSWORD, "harbor")
    policy = _policy(api, "pull-labelled", src_registry={"id": endpoint},
                     dest_namespace="labelled",
                     filters=[{"type": "name", "value": "lab/**"},
                              {"type": "label", "value": ["release"]}])  # fmt: skip
    execution, tasks = _run(api, policy)
    assert (execution["status"], len(tasks)) == ("Succeed", 2), (execution, tasks)
    assert api.get("/v2/labelled/app/tags/list").json()["tags"] == ["v1"]
    assert _manifest(api, "labelled/app", "v1").content == marked.manifest


def test_a_scheduled_pull_copies_exactly_the_matching_set(
    api: httpx.Client, destination: Destination
) -> None:
    with destination.client() as remote:
        wanted = {tag: push_image(remote, "sched/app", tag, seed=f"c{tag}") for tag in ("v1", "v2")}
        push_image(remote, "sched/app", "v3-rc1", seed="c3")  # excluded by a tag filter
        push_image(remote, "sched/app", "dev", seed="c4")  # not matched by v*
        push_image(remote, "other/app", "v1", seed="c5")  # not matched by the name filter
    endpoint = _endpoint(api, "dist-sched", destination.url, destination.user,
                         destination.password)  # fmt: skip
    policy = _policy(
        api, "pull-scheduled", src_registry={"id": endpoint}, dest_namespace="timed",
        trigger={"type": "scheduled", "trigger_settings": {"cron": "* * * * * *"}},
        filters=[{"type": "name", "value": "sched/**"}, {"type": "tag", "value": "v*"},
                 {"type": "tag", "value": "*-rc*", "decoration": "excludes"}],
    )  # fmt: skip

    def ended() -> dict[str, Any] | None:
        r = api.get(f"{API}/replication/executions", params={"policy_id": policy})
        listed = check_harbor(r.json(), "ReplicationExecution", many=True)
        done = [e for e in listed if e["status"] != "InProgress"]
        return done[-1] if done else None  # the oldest (listed newest first)

    execution = wait_for(ended, timeout=60)
    r = api.put(f"{API}/replication/policies/{policy}", json={"enabled": False})
    assert r.status_code == 200, r.text
    assert (execution["trigger"], execution["status"]) == ("scheduled", "Succeed"), execution
    assert execution["total"] == 2, execution
    assert sorted(api.get("/v2/timed/app/tags/list").json()["tags"]) == ["v1", "v2"]
    for tag, image in wanted.items():
        assert _manifest(api, "timed/app", tag).headers["docker-content-digest"] == image.digest
    assert api.get("/v2/timed/other/app/tags/list").status_code == 404


def test_a_push_carries_referrers_to_a_destination_without_the_referrers_api(
    api: httpx.Client, here: RegistryProcess, destination: Destination, signer: dict[str, Any]
) -> None:
    v1 = push_image(api, "out/app", "v1", seed="o1")
    _login(signer, here.host, "admin", ADMIN_PASSWORD)
    _sign(signer, f"{here.host}/out/app@{v1.digest}", "--referrers")
    subject = {"mediaType": OCI_MANIFEST, "digest": v1.digest, "size": len(v1.manifest)}
    sbom = push_image(api, "out/app", None, seed="o2", artifactType=SBOM, subject=subject)
    referrers = {e["digest"]: e["artifactType"] for e in _referrers(api, "out/app", v1.digest)}
    assert sorted(referrers.values()) == sorted([COSIGN_SIG, SBOM])
    endpoint = _endpoint(api, "dist-out", destination.url, destination.user,
                         destination.password)  # fmt: skip
    policy = _policy(api, "push-referrers", dest_registry={"id": endpoint},
                     dest_namespace="pushed", dest_namespace_replace_count=1,
                     filters=[{"type": "name", "value": "out/**"}])  # fmt: skip
    execution, _ = _run(api, policy)
    assert (execution["status"], execution["total"]) == ("Succeed", 1), execution
    fallback = "sha256-" + v1.digest.partition(":")[2]
    assert destination.tags("pushed/app") == sorted(["v1", fallback])
    with destination.client() as remote:
        index = json.loads(_manifest(remote, "pushed/app", fallback).content)
        assert {e["digest"]: e["artifactType"] for e in index["manifests"]} == referrers
        assert _manifest(remote, "pushed/app", sbom.digest).content == sbom.manifest
    _login(signer, destination.host, destination.user, destination.password)
    out = run_dockyard("verify", "--key", signer["pub"], f"{destination.host}/pushed/app:v1",
                       root=signer["root"], env=signer["env"])  # fmt: skip
    assert len(json.loads(out.stdout)) == 1


def test_replicate_deletion_on_a_pull_policy_is_kept_and_does_nothing(
    api: httpx.Client, destination: Destination
) -> None:
    with destination.client() as remote:
        a = push_image(remote, "del/app", "a", seed="d1")
        b = push_image(remote, "del/app", "b", seed="d2")
    endpoint = _endpoint(api, "dist-del", destination.url, destination.user,
                         destination.password)  # fmt: skip
    policy = _policy(api, "pull-deletion", src_registry={"id": endpoint},
                     dest_namespace="kept", replicate_deletion=True,
                     filters=[{"type": "name", "value": "del/**"}])  # fmt: skip
    got = check_harbor(api.get(f"{API}/replication/policies/{policy}").json(),
                       "ReplicationPolicy")  # fmt: skip
    assert (got["replicate_deletion"], got["deletion"]) == (True, True)
    execution, _ = _run(api, policy)
    assert (execution["status"], execution["succeed"]) == ("Succeed", 2), execution

    # deleted at the source: the copy here stays (Harbor's pull flow only copies)
    with destination.client() as remote:
        r = remote.delete(f"/v2/del/app/manifests/{a.digest}")
        assert r.status_code == 202, r.text
    execution, tasks = _run(api, policy)
    assert (execution["status"], len(tasks)) == ("Succeed", 1), (execution, tasks)
    assert _manifest(api, "kept/app", "a").headers["docker-content-digest"] == a.digest

    # deleted here: nothing is queued, the source keeps it
    r = api.delete(f"/v2/kept/app/manifests/{b.digest}")
    assert r.status_code == 202, r.text
    r = api.get(f"{API}/replication/executions", params={"policy_id": policy})
    assert len(r.json()) == 2
    assert destination.digest("del/app", "b") == b.digest


def test_an_execution_stopped_by_hand_is_told_once(
    api: httpx.Client, receiver: WebhookReceiver
) -> None:
    push_image(api, "stuck/app", "v1", seed="t1")
    push_image(api, "stuck/app", "v2", seed="t2")
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens: every attempt fails
    endpoint = _endpoint(api, "nowhere", nowhere, "u", "p")
    policy = _policy(api, "push-stuck", dest_registry={"id": endpoint},
                     filters=[{"type": "name", "value": "stuck/**"}])  # fmt: skip
    r = api.post(f"{API}/replication/executions", json={"policy_id": policy})
    execution = int(check_created(r, f"{API}/replication/executions"))
    assert _execution(api, execution)["status"] == "InProgress"
    before = len(receiver.received)
    r = api.put(f"{API}/replication/executions/{execution}")
    assert r.status_code == 200, r.text
    stopped = _execution(api, execution)
    assert (stopped["status"], stopped["stopped"]) == ("Stopped", 2), stopped
    [hook] = receiver.wait_for(before + 1)[before:]
    body = hook.json()
    assert body["type"] == "REPLICATION"
    replication = body["event_data"]["replication"]
    assert (replication["job_status"], replication["execution_id"]) == ("Stopped", execution)
    assert replication["trigger_type"] == "manual"
    assert replication["src_resource"]["namespace"] == "stuck"
    assert replication["dest_resource"]["endpoint"] == nowhere
    assert sorted(a["name_tag"] for a in replication["failed_artifact"]) == ["app:v1", "app:v2"]
    assert {a["status"] for a in replication["failed_artifact"]} == {"Stopped"}
    # stopping it again stops nothing (once told: see test_replication_events)
    r = api.put(f"{API}/replication/executions/{execution}")
    assert r.status_code == 200, r.text
    assert _execution(api, execution)["status"] == "Stopped"


def test_a_pull_keeps_to_the_policys_speed(
    registry: Registry, destination: Destination, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``speed`` (KB/s) holds for a pull as for a push: a 256 KiB layer read at 64 KB/s is
    4 s ahead of its budget by its last piece (the waits asked for are recorded, not slept)."""
    layer = b"\x01" * (256 << 10)
    with destination.client() as remote:
        small = push_image(remote, "slow/app", "v1", seed="w1")
        config = json.dumps({"architecture": "amd64", "os": "linux", "seed": "w2"}).encode()
        for blob in (config, layer):
            push_blob(remote, "slow/big", blob)
        big = make_manifest(config, [layer])
        r = remote.put("/v2/slow/big/manifests/v1", content=big,
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
    PullCopy(registry, transport, destination.url).run(NewTask("slow/app", "v1", "slow/app", "v1"))
    assert waits == []  # no speed: no wait
    assert registry.meta.tag_digest("slow/app", "v1") == small.digest
    limited = PullCopy(registry, transport, destination.url, speed=64)
    stats = limited.run(NewTask("slow/big", "v1", "slow/big", "v1"))
    assert stats.bytes_copied == len(config) + len(layer)
    assert 3.5 < max(waits) <= len(layer) / (64 * 1024), waits
    assert registry.meta.tag_digest("slow/big", "v1") == "sha256:" + hashlib.sha256(big).hexdigest()
