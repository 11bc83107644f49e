"""A real ``dockyard registry serve`` mirror in front of a real distribution 2.8.2 upstream
with token auth; the upstream's own access log counts what reached it.

Two upstreams in the mirror point at the same registry (through a relay that can misbehave):
``hub``, the default, with a TTL of an hour, and ``fresh``, selected by containerd's
``?ns=fresh.example``, with ``ttl: 0`` (revalidated on every tag request), so that TTL expiry
is exercised without waiting for a clock.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _infra import Podman
from _infra._process import run_command
from _infra.mirror import PASSWORD, USER
from _infra.mirror_server import Mirror, serve_mirror
from _infra.oci_layout import gzip_tar

pytestmark = pytest.mark.slow

FRESH = "fresh.example"


def _mirror_config(relay_host: str) -> str:
    upstream = f"remoteurl: http://{relay_host}, username: {USER}, password: {PASSWORD}"
    return (
        "version: 0.1\n"
        "proxy:\n"
        "  upstreams:\n"
        f"    - {{name: hub, {upstream}, ttl: 1h}}\n"
        f"    - {{name: fresh, {upstream}, ttl: 0, hosts: [{FRESH}]}}\n"
    )


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mirror]:
    with serve_mirror(tmp_path_factory.mktemp("mirror"), _mirror_config) as served:
        yield served


def _get(mirror: Mirror, path: str, **kw: object) -> httpx.Response:
    accept = "application/vnd.oci.image.manifest.v1+json"
    return httpx.get(mirror.url + path, headers={"accept": accept}, timeout=60, **kw)  # type: ignore[arg-type]


def test_second_pull_within_ttl_makes_no_upstream_request(
    mirror: Mirror, podman: Podman, tmp_path: Path
) -> None:
    digest = mirror.push([gzip_tar("a.txt", b"first image\n" * 100)], "team/app", "v1")
    conf = tmp_path / "registries.conf"
    conf.write_text(
        '[[registry]]\nprefix = "upstream.example"\nlocation = "upstream.example"\n'
        f'[[registry.mirror]]\nlocation = "{mirror.server.host}"\ninsecure = true\n'
    )
    env = {**podman.env, "CONTAINERS_REGISTRIES_CONF": str(conf)}
    first = Podman(podman.base, env).run("pull", "-q", "upstream.example/team/app:v1")
    assert first.returncode == 0
    fetched = [h for h in mirror.upstream.hits() if h.status == 200 and "team/app" in h.path]
    assert any(h.method == "GET" and "/blobs/" in h.path for h in fetched)

    mark = len(mirror.upstream.hits_since(0))
    out = tmp_path / "copy"
    run_command(
        ["skopeo", "copy", "--quiet", "--registries-conf", str(conf),
         "docker://upstream.example/team/app:v1", f"oci:{out}:t"],
        timeout=120,
    )  # fmt: skip
    assert mirror.upstream.hits_since(mark) == []
    index = (out / "index.json").read_text()
    assert digest in index


def test_expired_tag_is_revalidated_with_head_only(mirror: Mirror) -> None:
    first = mirror.push([gzip_tar("b.txt", b"revalidated\n" * 50)], "team/fresh", "v1")
    path = f"/v2/team/fresh/manifests/v1?ns={FRESH}"
    assert _get(mirror, path).headers["docker-content-digest"] == first

    mark = len(mirror.upstream.hits_since(0))
    again = _get(mirror, path)
    assert again.status_code == 200 and again.headers["docker-content-digest"] == first
    hits = mirror.upstream.hits_since(mark)
    assert hits and {(h.method, h.status) for h in hits} == {("HEAD", 200)}, hits

    second = mirror.push([gzip_tar("b.txt", b"changed upstream\n" * 50)], "team/fresh", "v1")
    mark = len(mirror.upstream.hits_since(0))
    changed = _get(mirror, path)
    assert changed.headers["docker-content-digest"] == second
    assert hashlib.sha256(changed.content).hexdigest() == second.split(":")[1]
    methods = [h.method for h in mirror.upstream.hits_since(mark) if "manifests" in h.path]
    assert methods[0] == "HEAD" and methods.count("GET") == 1, methods


def test_stale_manifest_served_when_upstream_is_down_or_rate_limiting(mirror: Mirror) -> None:
    digest = mirror.push([gzip_tar("c.txt", b"stale but served\n" * 50)], "team/stale", "v1")
    path = f"/v2/team/stale/manifests/v1?ns={FRESH}"
    assert _get(mirror, path).status_code == 200
    assert "warning" not in _get(mirror, path).headers

    mirror.upstream.stop()
    try:
        down = _get(mirror, path)
        assert down.status_code == 200
        assert down.headers["docker-content-digest"] == digest
        assert down.headers["warning"] == '110 - "Response is Stale"'
        cold = _get(mirror, "/v2/team/never/manifests/v1")
        assert cold.status_code == 503
        assert "upstream hub" in cold.json()["errors"][0]["message"]
    finally:
        mirror.upstream.start()

    mirror.relay.mode = "ratelimit"
    try:
        limited = _get(mirror, path)
        assert limited.status_code == 200
        assert limited.headers["warning"] == '110 - "Response is Stale"'
        cold = _get(mirror, "/v2/team/never/manifests/v1")
        assert cold.status_code == 429, cold.text
        assert cold.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
    finally:
        mirror.relay.mode = "pass"
    metrics = httpx.get(mirror.url + "/metrics").text
    assert (
        'registry_proxy_stale_served_total{type="manifest",upstream="fresh",reason="unavailable"} 1'
        in metrics
    )
    assert (
        'registry_proxy_stale_served_total{type="manifest",upstream="fresh",reason="ratelimited"} 1'
        in metrics
    )
    fresh = _get(mirror, path)
    assert fresh.status_code == 200 and "warning" not in fresh.headers


def test_concurrent_pulls_of_a_cold_blob_make_one_upstream_fetch(mirror: Mirror) -> None:
    payload = os.urandom(4 << 20)
    layer = gzip_tar("big.bin", payload)
    mirror.push([layer], "team/big", "v1")
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    path = f"/v2/team/big/blobs/{digest}"
    mirror.relay.mode = "slow"  # the fetch takes long enough for every client to join it
    results: list[str] = []
    barrier = threading.Barrier(20)

    def pull() -> None:
        barrier.wait()
        r = httpx.get(mirror.url + path, timeout=120)
        results.append(f"{r.status_code} {hashlib.sha256(r.content).hexdigest()}")

    try:
        mark = len(mirror.upstream.hits_since(0))
        threads = [threading.Thread(target=pull) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        mirror.relay.mode = "pass"
    assert results == [f"200 {digest.split(':')[1]}"] * 20
    gets = [h for h in mirror.upstream.hits_since(mark) if h.method == "GET" and h.path == path]
    # one fetch: a 401 challenge for the new repository's token, then one GET with the token
    assert [h.status for h in gets if h.status != 401] == [200], gets
    assert len(gets) <= 2, gets
    assert mirror.blob_size(digest) == len(layer)


def test_clients_get_bytes_while_the_blob_is_still_arriving(mirror: Mirror) -> None:
    layer = gzip_tar("held.bin", os.urandom(1 << 20))
    mirror.push([layer], "team/held", "v1")
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    url = f"{mirror.url}/v2/team/held/blobs/{digest}"
    mirror.relay.gate.clear()
    mirror.relay.mode = "hold"  # the upstream's body stops half-way until the gate opens
    try:
        with httpx.Client(timeout=60) as first, first.stream("GET", url) as early:
            assert early.status_code == 200
            assert early.headers["content-length"] == str(len(layer))
            received = b""
            stream = early.iter_raw()
            while len(received) < len(layer) // 4:  # bytes arrive before the fetch is done
                received += next(stream)
            assert mirror.blob_size(digest) is None  # not verified: not published
            late = httpx.Client(timeout=60)  # joins the same fetch half-way
            with late, late.stream("GET", url) as joined:
                mirror.relay.gate.set()
                received += b"".join(stream)
                assert joined.read() == layer
        assert received == layer
    finally:
        mirror.relay.mode = "pass"
        mirror.relay.gate.set()
    gets = [h for h in mirror.upstream.hits() if h.method == "GET" and digest in h.path]
    assert [h.status for h in gets if h.status != 401] == [200], gets


def test_truncated_upstream_blob_is_never_visible(mirror: Mirror) -> None:
    layer = gzip_tar("cut.bin", os.urandom(2 << 20))
    mirror.push([layer], "team/cut", "v1")
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    path = f"/v2/team/cut/blobs/{digest}"
    mirror.relay.mode = "cut"
    failures: list[str] = []

    def pull() -> None:
        try:
            r = httpx.get(mirror.url + path, timeout=60)
        except httpx.HTTPError as exc:  # the body broke off: the client knows
            failures.append(type(exc).__name__)
            return
        assert r.status_code != 200, "a truncated fetch was served as complete"
        failures.append(str(r.status_code))

    try:
        threads = [threading.Thread(target=pull) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        mirror.relay.mode = "pass"
    assert len(failures) == 3, failures
    assert mirror.blob_size(digest) is None
    assert mirror.upload_keys() == []  # the partial bytes are gone
    whole = httpx.get(mirror.url + path, timeout=60)
    assert whole.status_code == 200 and whole.content == layer
    assert mirror.blob_size(digest) == len(layer)


def test_pushes_and_deletes_are_refused(mirror: Mirror) -> None:
    for method, path in [
        ("POST", "/v2/team/app/blobs/uploads/"),
        ("PUT", "/v2/team/app/manifests/v9"),
        ("DELETE", "/v2/team/app/manifests/v1"),
    ]:
        r = httpx.request(method, mirror.url + path, content=b"{}")
        assert r.status_code == 405, (method, path, r.text)
        assert r.json()["errors"][0]["code"] == "UNSUPPORTED"


def test_a_namespace_no_upstream_claims_is_not_found(mirror: Mirror) -> None:
    r = _get(mirror, "/v2/team/app/manifests/v1?ns=quay.io")
    assert r.status_code == 404
    error = r.json()["errors"][0]
    assert error["code"] == "NAME_UNKNOWN" and FRESH in error["message"]


@pytest.mark.docker
def test_dockerd_pulls_through_the_mirror(mirror: Mirror) -> None:
    """dockerd with ``--registry-mirror`` (its own daemon: the session's has no mirror and
    is not restarted): Docker Hub names go to the mirror; a second pull reaches no upstream,
    and with the upstream stopped the cached image still pulls."""
    from _infra._dockerd import started_daemon

    mirror.push([gzip_tar("d.txt", b"pulled by dockerd\n" * 100)], "team/dock", "v1")
    with started_daemon(extra_args=("--registry-mirror", mirror.url)) as daemon:
        first = len(mirror.upstream.hits_since(0))
        daemon.run("pull", "-q", "team/dock:v1")
        fetched = mirror.upstream.hits_since(first)
        assert any(h.method == "GET" and "/team/dock/blobs/" in h.path for h in fetched)
        daemon.run("rmi", "team/dock:v1")
        mark = len(mirror.upstream.hits_since(0))
        daemon.run("pull", "-q", "team/dock:v1")
        assert mirror.upstream.hits_since(mark) == []
        daemon.run("rmi", "team/dock:v1")
        mirror.upstream.stop()
        try:
            daemon.run("pull", "-q", "team/dock:v1")
        finally:
            mirror.upstream.start()
