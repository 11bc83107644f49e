"""Three registry replicas behind haproxy (round robin, no stickiness) on one PostgreSQL, one
S3 bucket and one Redis, driven by real clients: docker, skopeo and podman push and pull
through the balancer; a chunked upload spread over all three replicas; a ``kill -9`` of a
replica in the middle of 20 concurrent pushes; a rolling restart during a pull loop."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from _infra import BuiltImage, DockerDaemon, Podman, run_command
from _infra.cluster import Backends, Cluster, start_cluster
from _infra.cluster_clients import (
    ACCEPT,
    PullLoop,
    Pusher,
    access_entries,
    make_image,
    pull_and_verify,
    sha256,
)
from _infra.oci_layout import gzip_tar, oci_layout
from _infra.projects_registry import ADMIN_PASSWORD, basic
from dockyard.registry._server import ADMIN_PASSWORD_ENV
from dockyard.registry.token._keys import CERT_FILE, KEY_FILE, load_or_create_signing_key

pytestmark = pytest.mark.slow

#: the replicas' access logs as JSON lines, each with the request id a client sent
LOGS = {"log": {"formatter": "json", "accesslog": {"disabled": False}}}


@pytest.fixture(scope="module")
def cluster(backends: Backends, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with start_cluster(backends, tmp_path_factory.mktemp("clients"), config=LOGS) as started:
        yield started


def _digest(cluster: Cluster, name: str, tag: str) -> str:
    r = httpx.head(f"{cluster.url}/v2/{name}/manifests/{tag}", headers={"accept": ACCEPT})
    assert r.status_code == 200, r.text
    return str(r.headers["docker-content-digest"])


def _verify_blobs(cluster: Cluster, name: str, digest: str) -> int:
    """Every blob of manifest ``name@digest``, fetched through the balancer, hashes to its
    digest; how many."""
    with httpx.Client(base_url=cluster.url, timeout=60, follow_redirects=True) as client:
        r = client.get(f"/v2/{name}/manifests/{digest}", headers={"accept": ACCEPT})
        assert r.status_code == 200 and sha256(r.content) == digest
        manifest = json.loads(r.content)
        descriptors = [manifest["config"], *manifest["layers"]]
        for d in descriptors:
            body = client.get(f"/v2/{name}/blobs/{d['digest']}").content
            assert sha256(body) == d["digest"] and len(body) == d["size"]
    return len(descriptors)


def test_docker_pushes_and_pulls_through_the_balancer(
    cluster: Cluster, dockerd: DockerDaemon, multilayer_image: BuiltImage, tmp_path: Path
) -> None:
    remote = f"{cluster.host}/clients/docker:1"
    config = ["--config", str(tmp_path / "docker")]
    dockerd.run("tag", multilayer_image.ref, remote)
    local = json.loads(dockerd.run("image", "inspect", remote).stdout)[0]
    dockerd.run(*config, "push", remote)
    digest = _digest(cluster, "clients/docker", "1")
    # the config and every layer
    assert _verify_blobs(cluster, "clients/docker", digest) == 1 + len(local["RootFS"]["Layers"])
    dockerd.run("rmi", remote)
    # docker verifies every layer's digest as it pulls; the image id is the config's digest
    dockerd.run(*config, "pull", remote)
    inspect = json.loads(dockerd.run("image", "inspect", remote).stdout)[0]
    assert inspect["Id"] == multilayer_image.id
    assert f"{remote.rsplit(':', 1)[0]}@{digest}" in inspect["RepoDigests"]
    dockerd.run("rmi", remote)


def test_skopeo_pushes_and_pulls_through_the_balancer(cluster: Cluster, tmp_path: Path) -> None:
    layers = [gzip_tar(f"f{i}", os.urandom(300_000)) for i in range(3)]
    pushed = oci_layout(tmp_path / "src", layers)
    skopeo = ["skopeo", "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false"]
    target = f"docker://{cluster.host}/clients/skopeo:1"
    run_command([*skopeo, f"oci:{tmp_path / 'src'}:t", target])
    assert _digest(cluster, "clients/skopeo", "1") == pushed
    assert _verify_blobs(cluster, "clients/skopeo", pushed) == 4
    # skopeo checks every blob's digest as it copies; the layout it writes names the manifest
    run_command([*skopeo, target, f"oci:{tmp_path / 'back'}:t"])
    index = json.loads((tmp_path / "back" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == pushed


def test_podman_pushes_and_pulls_through_the_balancer(
    cluster: Cluster, podman: Podman, tmp_path: Path
) -> None:
    oci_layout(tmp_path / "src", [gzip_tar(f"f{i}", os.urandom(200_000)) for i in range(2)])
    image_id = podman.run("pull", "-q", f"oci:{tmp_path}/src:t").stdout.strip()
    remote = f"{cluster.host}/clients/podman:1"
    podman.run("push", "-q", "--tls-verify=false", image_id, f"docker://{remote}")
    digest = _digest(cluster, "clients/podman", "1")
    assert _verify_blobs(cluster, "clients/podman", digest) == 3
    podman.run("rmi", "-a", "-f")
    # podman checks the layers' digests and diff_ids as it pulls
    podman.run("pull", "-q", "--tls-verify=false", remote)
    inspect = json.loads(podman.run("image", "inspect", remote).stdout)[0]
    assert inspect["Id"] == image_id and inspect["Digest"] == digest


def _replica_of(cluster: Cluster, request_ids: list[str], timeout: float = 10) -> dict[str, str]:
    """Which replica answered each request (from the replicas' access logs, written in
    batches: waits until every id is there)."""
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, str] = {}
        for name, replica in cluster.replicas.items():
            for entry in access_entries(replica.log):
                found[str(entry["request_id"])] = name
        if all(rid in found for rid in request_ids) or time.monotonic() > deadline:
            return {rid: found.get(rid, "nowhere") for rid in request_ids}
        time.sleep(0.1)


def test_a_chunked_upload_spread_over_the_replicas_completes(cluster: Cluster) -> None:
    # 7 MiB in chunks of 2 MiB: more than one S3 part (5 MiB), chunks smaller than a part
    data = os.urandom(7 * 1024 * 1024)
    pusher = Pusher(cluster.url, chunk=2 * 1024 * 1024, attempts=1)
    try:
        pusher.push_blob("clients/chunked", data, request_id="chunked")
    finally:
        pusher.close()
    steps = ["post", "patch-0", "patch-1", "patch-2", "patch-3", "put"]
    where = _replica_of(cluster, [f"chunked-{s}" for s in steps])
    assert "nowhere" not in where.values(), where
    # round robin: the POST, the PATCHes and the PUT were answered by all three replicas
    assert set(where.values()) == set(cluster.replicas), where
    assert where["chunked-post"] != where["chunked-put"], where
    with httpx.Client(base_url=cluster.url, timeout=60, follow_redirects=True) as client:
        for _ in range(3):  # from every replica in turn
            body = client.get(f"/v2/clients/chunked/blobs/{sha256(data)}").content
            assert sha256(body) == sha256(data)


def _served(cluster: Cluster, server: str) -> int:
    """How many requests haproxy has sent to ``server`` (its ``stot`` counter)."""
    assert cluster.balancer is not None
    lines = cluster.balancer.command("show stat").splitlines()
    header = lines[0].lstrip("# ").split(",")
    for line in lines[1:]:
        row = dict(zip(header, line.split(","), strict=False))
        if row.get("pxname") == "replicas" and row.get("svname") == server:
            return int(row["stot"] or 0)
    raise AssertionError(f"haproxy has no server {server}")


@contextlib.contextmanager
def _running_after(cluster: Cluster, name: str) -> Iterator[None]:
    """Replica ``name`` is started again on the way out if it is down (a failed test leaves
    the module's cluster whole for the next)."""
    try:
        yield
    finally:
        if cluster.replicas[name].process.poll() is not None:
            cluster.restart(name)


def test_kill_9_of_a_replica_during_20_concurrent_pushes(cluster: Cluster) -> None:
    victim = "registry-2"
    with _running_after(cluster, victim):
        _kill_9_during_pushes(cluster, victim)


def _kill_9_during_pushes(cluster: Cluster, victim: str) -> None:
    assert cluster.balancer is not None
    chunk = 128 * 1024
    images = [make_image(f"clients/crash-{i}", "1", [300_000]) for i in range(20)]
    requests = 0
    lock = threading.Lock()
    kill_now = threading.Event()
    # POST, a PATCH per chunk and a PUT per blob, a PUT per manifest
    total = sum(sum(-(-len(b) // chunk) + 2 for b in im.blobs) + 1 for im in images)

    def counted() -> None:
        nonlocal requests
        with lock:
            requests += 1
            if requests == total // 3:
                kill_now.set()

    before = _served(cluster, victim)
    pusher = Pusher(cluster.url, chunk=chunk, on_request=counted)
    try:
        with ThreadPoolExecutor(20) as pool:
            pushes = [pool.submit(pusher.push, image) for image in images]
            assert kill_now.wait(120), "the pushes never got a third of the way"
            served_before_kill = _served(cluster, victim) - before
            cluster.kill(victim, signal.SIGKILL)
            done_at_kill = sum(p.done() for p in pushes)
            digests = [p.result(timeout=300) for p in pushes]
    finally:
        pusher.close()
    assert cluster.replicas[victim].process.returncode == -signal.SIGKILL
    assert served_before_kill > 0, "the killed replica had served none of the pushes"
    assert done_at_kill < len(images), "every push had finished before the kill"
    # every client completed: whatever failed (haproxy retries a refused connection itself;
    # a request cut by the kill comes back as a 5xx, a reset or a lost upload) was retried
    # successfully
    assert digests == [im.digest for im in images]
    with httpx.Client(base_url=cluster.url, timeout=60, follow_redirects=True) as client:
        for image in images:
            pull_and_verify(client, image)
    # the killed replica restarts and rejoins: haproxy sends it requests again
    cluster.restart(victim)
    cluster.balancer.wait(victim, "UP")
    with httpx.Client(base_url=cluster.replicas[victim].url, timeout=60) as direct:
        for image in images[::4]:  # a sample: what the others stored while it was down
            pull_and_verify(direct, image)
    rejoined = _served(cluster, victim)
    with httpx.Client(base_url=cluster.url, timeout=60, follow_redirects=True) as client:
        pull_and_verify(client, images[0])  # four requests, round robin over three
    assert _served(cluster, victim) > rejoined
    print(f"kill -9 during pushes: {len(pusher.errors)} retried failures:", *pusher.errors,
          sep="\n  ")  # fmt: skip


def _slow_patch(replica_url: str, location: str, data: bytes, started: threading.Event) -> int:
    """PATCH ``data`` to one replica directly, in 64 KiB pieces 50 ms apart; the status."""

    def body() -> Iterator[bytes]:
        for start in range(0, len(data), 64 * 1024):
            yield data[start : start + 64 * 1024]
            started.set()
            time.sleep(0.05)

    headers = {"content-type": "application/octet-stream"}
    url = f"{replica_url}{httpx.URL(location).raw_path.decode()}"
    return httpx.patch(url, content=body(), headers=headers, timeout=60).status_code


def test_rolling_restart_during_a_pull_loop(cluster: Cluster) -> None:
    """drain in haproxy → SIGTERM → start → ready → UP, one replica after the other, while
    two clients pull in a loop: no request fails (a connection failure a client retries is
    counted apart; a 5xx or a wrong body is a failure). The first replica is stopped in the
    middle of a slow upload sent to it directly: the upload finishes."""
    balancer = cluster.balancer
    assert balancer is not None
    images = [make_image(f"clients/rolling-{i}", "1", [200_000]) for i in range(2)]
    pusher = Pusher(cluster.url, attempts=1)
    try:
        for image in images:
            pusher.push(image)
    finally:
        pusher.close()
    slow = os.urandom(40 * 64 * 1024)  # sent in 2 s
    r = httpx.post(f"{cluster.url}/v2/clients/slow/blobs/uploads/")
    assert r.status_code == 202, r.text
    location = r.headers["location"]
    exits: dict[str, int | None] = {}
    with PullLoop(cluster.url, images, threads=2) as loop, ThreadPoolExecutor(1) as pool:
        loop.wait_for(10)
        for name in list(cluster.replicas):
            balancer.set_state(name, "drain")
            balancer.wait(name, "DRAIN")
            loop.wait_for(5)  # the others carry the load
            in_flight = None
            if not exits:
                started = threading.Event()
                in_flight = pool.submit(_slow_patch, cluster.replicas[name].url, location, slow,
                                        started)  # fmt: skip
                assert started.wait(30)
                assert not in_flight.done()
            cluster.kill(name, signal.SIGTERM)  # returns when it has exited
            exits[name] = cluster.replicas[name].process.returncode
            if in_flight is not None:
                assert in_flight.result() == 202, "SIGTERM cut an upload in flight"
            loop.wait_for(5)
            cluster.restart(name)
            balancer.set_state(name, "ready")
            balancer.wait(name, "UP")
            loop.wait_for(10)
    # uvicorn re-raises the SIGTERM it handled once it has shut down; -9: it did not stop
    assert set(exits.values()) == {-signal.SIGTERM}, f"not a clean stop: {exits}"
    print(f"rolling restart: {dict(loop.outcomes)}")
    assert not loop.failures, f"{len(loop.failures)} failed: {loop.failures[:10]}"
    assert loop.outcomes["ok"] >= 70  # what the loop was waited for, at least
    # the upload cut in two by the restart completes through the balancer
    done = httpx.URL(f"{cluster.url}{httpx.URL(location).raw_path.decode()}")
    r = httpx.put(str(done.copy_merge_params({"digest": sha256(slow)})))
    assert r.status_code == 201, r.text
    # every replica answers again, each with every image
    for replica in cluster.replicas.values():
        with httpx.Client(base_url=replica.url, timeout=60, follow_redirects=True) as direct:
            for image in images:
                pull_and_verify(direct, image)
            body = direct.get(f"/v2/clients/slow/blobs/{sha256(slow)}").content
            assert sha256(body) == sha256(slow)


# --- projects mode: one token signing key for every replica ---------------------------------


@pytest.fixture(scope="module")
def projects_cluster(
    backends: Backends, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Two replicas in ``auth: projects`` mode sharing one signing key (as a mounted Secret)."""
    workdir = tmp_path_factory.mktemp("projects")
    load_or_create_signing_key(workdir / "token")
    auth = {
        "projects": {
            "passwordcost": 4,
            "key": str(workdir / "token" / KEY_FILE),
            "certificate": str(workdir / "token" / CERT_FILE),
        }
    }
    with start_cluster(
        backends,
        workdir,
        replicas=2,
        config={**LOGS, "auth": auth},
        env={ADMIN_PASSWORD_ENV: ADMIN_PASSWORD},
    ) as started:
        yield started


def test_projects_mode_login_push_pull_through_the_balancer(
    projects_cluster: Cluster, dockerd: DockerDaemon, busybox_image: BuiltImage, tmp_path: Path
) -> None:
    cluster = projects_cluster
    admin = basic("admin", ADMIN_PASSWORD)
    r = httpx.post(f"{cluster.url}/api/v2.0/projects", headers=admin,
                   json={"project_name": "team", "metadata": {"public": "false"}})  # fmt: skip
    assert r.status_code == 201, r.text
    config = ["--config", str(tmp_path / "docker")]
    login = dockerd.run(*config, "login", cluster.host, "-u", "admin", "--password-stdin",
                        input=ADMIN_PASSWORD)  # fmt: skip
    assert "Login Succeeded" in login.stdout
    remote = f"{cluster.host}/team/app:1"
    dockerd.run("tag", busybox_image.ref, remote)
    dockerd.run(*config, "push", remote)  # every request with a token, on either replica
    dockerd.run("rmi", remote)
    dockerd.run(*config, "pull", remote)
    assert json.loads(dockerd.run("image", "inspect", remote).stdout)[0]["Id"] == busybox_image.id
    dockerd.run("rmi", remote)
    # a token one replica issued is accepted by the other, and the anonymous are refused
    first, second = cluster.replicas.values()
    query = {"service": "dockyard-registry", "scope": "repository:team/app:pull"}
    r = httpx.get(f"{first.url}/service/token", params=query, headers=admin)
    assert r.status_code == 200, r.text
    bearer = {"authorization": f"Bearer {r.json()['token']}", "accept": ACCEPT}
    for replica in (first, second):
        assert (
            httpx.get(f"{replica.url}/v2/team/app/manifests/1", headers=bearer).status_code == 200
        )
        assert httpx.get(f"{replica.url}/v2/team/app/manifests/1").status_code == 401
