"""Outages of what the replicas stand on: PostgreSQL, Redis and S3 (SeaweedFS) stop under two
running replicas and come back on the same port and data.

- PostgreSQL gone: requests that need it get 503 ``UNAVAILABLE`` (never a 500, never a false
  404), ``/healthz`` says down, each replica logs one line for the outage (no traceback per
  request) and one when it ends; once the server is back the same processes serve again, and
  nothing pushed before is lost.
- Redis gone: it only keeps the replicas' caches coherent, so requests still succeed, served
  from the database (never stale); one line per outage, and coherence is back afterwards.
- S3 gone in the middle of a chunked upload: its finishing PUT gets 503, no blob becomes
  visible (HEAD 404 once the store is back), and the client's retry of the upload succeeds.

This module starts its own PostgreSQL, SeaweedFS and Redis (the session's are shared with
other modules, which an outage must not disturb).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from _infra.cluster import Backends, Cluster, cluster_backends, start_cluster
from _infra.registry_server import OCI_MANIFEST, error_code, push_blob, push_image

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def own_backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    with cluster_backends(tmp_path_factory.mktemp("outage-backends")) as started:
        yield started


@pytest.fixture(scope="module")
def cluster(own_backends: Backends, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    config = {
        # a request fails fast while a store is down: one retry, short Redis timeouts
        "storage": {"s3": {"maxretries": 1}},
        "redis": {"dialtimeout": "500ms", "readtimeout": "1s", "writetimeout": "1s"},
    }
    with start_cluster(
        own_backends,
        tmp_path_factory.mktemp("outage-cluster"),
        replicas=2,
        balancer=False,
        config=config,
    ) as started:
        yield started


@pytest.fixture
def clients(cluster: Cluster) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """A client of each replica (blob GETs follow the redirect to the store)."""
    one, two = (
        httpx.Client(base_url=r.url, timeout=60, follow_redirects=True)
        for r in cluster.replicas.values()
    )
    with one, two:
        yield one, two


def _log_lines(cluster: Cluster, pattern: str) -> dict[str, list[str]]:
    """Each replica's log lines matching ``pattern``."""
    found = {}
    for name, replica in cluster.replicas.items():
        text = replica.log.read_text(errors="replace")
        found[name] = [line for line in text.splitlines() if re.search(pattern, line)]
    return found


def _await_log_lines(cluster: Cluster, pattern: str, timeout: float = 20.0) -> dict[str, list[str]]:
    """:func:`_log_lines`, once every replica has logged ``pattern`` (or ``timeout`` passed):
    for what a background thread logs, such as the Redis renewal retried every half second."""
    deadline = time.monotonic() + timeout
    while True:
        found = _log_lines(cluster, pattern)
        if all(found.values()) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert error_code(response) == "UNAVAILABLE", response.text


def _pull(client: httpx.Client, name: str, reference: str) -> bytes:
    """The manifest at ``reference``, with every blob it names fetched and verified."""
    r = client.get(f"/v2/{name}/manifests/{reference}", headers={"accept": OCI_MANIFEST})
    assert r.status_code == 200, r.text
    manifest = r.json()
    for descriptor in (manifest["config"], *manifest["layers"]):
        blob = client.get(f"/v2/{name}/blobs/{descriptor['digest']}")
        assert blob.status_code == 200, blob.text
        assert "sha256:" + hashlib.sha256(blob.content).hexdigest() == descriptor["digest"]
    return r.content


def test_a_postgresql_outage_answers_503_and_service_resumes(
    cluster: Cluster,
    own_backends: Backends,
    clients: tuple[httpx.Client, httpx.Client],
) -> None:
    one, two = clients
    before = push_image(one, "outage/pg", "before", seed="pg-before")
    assert _pull(two, "outage/pg", "before") == before.manifest

    own_backends.postgres.crash()
    try:
        for client in (one, two):
            _assert_unavailable(client.post("/v2/outage/pg/blobs/uploads/"))
            # a tag the replica never cached must not read as unknown (404): the database
            # that would say so does not answer
            _assert_unavailable(
                client.get("/v2/outage/pg/manifests/never", headers={"accept": OCI_MANIFEST})
            )
            _assert_unavailable(
                client.put(
                    "/v2/outage/pg/manifests/during",
                    content=before.manifest,
                    headers={"content-type": OCI_MANIFEST},
                )
            )
            assert client.get("/healthz").status_code == 503
    finally:
        own_backends.postgres.start()

    # the same processes serve again: the pool reconnects by itself
    after = push_image(two, "outage/pg", "after", seed="pg-after")
    assert _pull(one, "outage/pg", "after") == after.manifest
    assert _pull(one, "outage/pg", "before") == before.manifest
    assert _pull(two, "outage/pg", "before") == before.manifest
    assert two.get("/v2/outage/pg/manifests/during").status_code == 404  # refused, not half-made
    assert one.get("/healthz").status_code == 200

    down = _log_lines(cluster, r"PostgreSQL at .* does not answer")
    back = _log_lines(cluster, r"PostgreSQL at .* answers again")
    for name in cluster.replicas:
        assert len(down[name]) == 1, (name, down[name], cluster.logs())
        assert "database.url" in down[name][0]
        assert len(back[name]) == 1, (name, back[name], cluster.logs())
    assert "Traceback" not in cluster.logs()


def test_a_redis_outage_serves_from_the_database_and_coherence_returns(
    cluster: Cluster,
    own_backends: Backends,
    clients: tuple[httpx.Client, httpx.Client],
) -> None:
    one, two = clients
    first = push_image(one, "outage/redis", seed="redis-1")
    assert _pull(two, "outage/redis", "latest") == first.manifest  # now in two's cache

    own_backends.redis.stop()
    try:
        second = push_image(one, "outage/redis", seed="redis-2")
        # two's cached "latest" is not trusted while Redis cannot say it is current
        assert _pull(two, "outage/redis", "latest") == second.manifest
        third = push_image(two, "outage/redis", seed="redis-3")
        assert _pull(one, "outage/redis", "latest") == third.manifest
    finally:
        own_backends.redis.start()  # empty: counters and epoch are gone

    fourth = push_image(one, "outage/redis", seed="redis-4")
    for _ in range(3):  # cached again, and moved when one moves the tag
        assert _pull(two, "outage/redis", "latest") == fourth.manifest
    fifth = push_image(one, "outage/redis", seed="redis-5")
    assert _pull(two, "outage/redis", "latest") == fifth.manifest

    down = _log_lines(cluster, r"Redis at .* does not answer")
    # the renewal that logs this runs in the background (``RedisGenerations._renew``)
    back = _await_log_lines(cluster, r"Redis at .* answers again")
    for name in cluster.replicas:
        assert len(down[name]) == 1, (name, down[name], cluster.logs())
        assert "redis.addr" in down[name][0]
        assert len(back[name]) == 1, (name, back[name], cluster.logs())
    assert "Traceback" not in cluster.logs()


def test_an_s3_outage_mid_upload_leaves_no_partial_blob(
    cluster: Cluster,
    own_backends: Backends,
    clients: tuple[httpx.Client, httpx.Client],
) -> None:
    one, two = clients
    before = push_image(one, "outage/s3", "before", seed="s3-before")
    data = b"".join(i.to_bytes(4, "big") for i in range(300_000))  # 1.2 MB
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    half = len(data) // 2

    # a chunked upload whose chunks went to both replicas, as docker's would behind a balancer
    r = one.post("/v2/outage/s3/blobs/uploads/")
    assert r.status_code == 202, r.text
    location = r.headers["location"]
    for client, start, end in ((one, 0, half), (two, half, len(data))):
        r = client.patch(
            location,
            content=data[start:end],
            headers={
                "content-type": "application/octet-stream",
                "content-range": f"{start}-{end - 1}",
            },
        )
        assert r.status_code == 202, r.text
        location = r.headers["location"]
    finish = str(httpx.URL(location).copy_merge_params({"digest": digest}))

    weed = own_backends.seaweed
    weed.kill()
    try:
        _assert_unavailable(two.put(finish))  # docker's last request: PUT, no body
        _assert_unavailable(one.post("/v2/outage/s3/blobs/uploads/"))
        for client in (one, two):
            assert client.head(f"/v2/outage/s3/blobs/{digest}").status_code != 200
    finally:
        weed.start()

    for client in (one, two):
        assert client.head(f"/v2/outage/s3/blobs/{digest}").status_code == 404
    # the client's retry of the same request completes the upload
    r = one.put(finish)
    assert r.status_code == 201, r.text
    for client in (one, two):
        r = client.get(f"/v2/outage/s3/blobs/{digest}")
        assert r.status_code == 200, r.text
        assert r.content == data
    # and new uploads go through, on both replicas
    assert (
        push_blob(two, "outage/s3", data[:1000])
        == "sha256:" + hashlib.sha256(data[:1000]).hexdigest()
    )
    assert _pull(one, "outage/s3", "before") == before.manifest

    down = _log_lines(cluster, r"S3 store at .* does not answer")
    for name in cluster.replicas:
        assert len(down[name]) == 1, (name, down, cluster.logs())
        assert "storage.s3.regionendpoint" in down[name][0]
    assert _log_lines(cluster, r"S3 store at .* answers again")["registry-2"]


def test_the_outages_left_a_consistent_database(
    clients: tuple[httpx.Client, httpx.Client],
) -> None:
    """fsck-style: every tag names a manifest, every manifest's blobs are linked."""
    one, _ = clients
    for name in ("outage/pg", "outage/redis", "outage/s3"):
        r = one.get(f"/v2/{name}/tags/list")
        assert r.status_code == 200, r.text
        for tag in r.json()["tags"]:
            _pull(one, name, tag)
