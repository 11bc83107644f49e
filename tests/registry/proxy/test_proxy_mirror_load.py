"""The mirror under the loads the issue names, with real parts: a real ``dockyard registry
serve`` mirror in front of a real distribution 2.8.2 upstream with token auth, through a relay
that can answer 429 to everything or hold blob bodies half-way.

Its one upstream has ``ttl: 0``, so every tag request is revalidated upstream: a pull that
succeeds while the upstream answers 429 was served from the cache because of the 429 (the
relay counts the answers), not because a TTL kept the mirror from asking.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _infra.mirror import PASSWORD, USER
from _infra.mirror_server import Mirror, serve_mirror
from _infra.oci_layout import gzip_tar, oci_layout

pytestmark = pytest.mark.slow

#: the cold blob's size: the issue's "100 MB" (random bytes, gzip cannot shrink them)
BIG = 100 << 20
CLIENTS = 20
_PIECE = 1 << 20


def _proxy_config(relay_host: str) -> str:
    return (
        "version: 0.1\n"
        "proxy:\n"
        f"  remoteurl: http://{relay_host}\n"
        f"  username: {USER}\n"
        f"  password: {PASSWORD}\n"
        "  ttl: 0\n"
    )


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mirror]:
    with serve_mirror(tmp_path_factory.mktemp("mirror-load"), _proxy_config) as served:
        yield served


def _big_layout(root: Path) -> str:
    """A one-image OCI layout whose one layer is a gzipped tar of ``BIG`` random bytes,
    written and hashed piece by piece (never whole in memory); the layer's digest."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    payload, tar_path, layer_path = root / "payload", root / "layer.tar", root / "layer.tar.gz"
    with payload.open("wb") as out:
        for _ in range(BIG // _PIECE):
            out.write(os.urandom(_PIECE))
    with tarfile.open(tar_path, "w") as tar, payload.open("rb") as data:
        info = tarfile.TarInfo("big.bin")
        info.size = BIG
        tar.addfile(info, data)
    payload.unlink()
    diff_id = hashlib.sha256()
    with tar_path.open("rb") as src, gzip.GzipFile(layer_path, "wb", 1, mtime=0) as dst:
        while piece := src.read(_PIECE):
            diff_id.update(piece)
            dst.write(piece)
    tar_path.unlink()
    layer = hashlib.sha256()
    with layer_path.open("rb") as src:
        while piece := src.read(_PIECE):
            layer.update(piece)
    size = layer_path.stat().st_size
    assert size > BIG  # random bytes: gzip adds, never removes
    layer_path.rename(blobs / layer.hexdigest())

    def put(data: bytes) -> dict[str, object]:
        hexdigest = hashlib.sha256(data).hexdigest()
        (blobs / hexdigest).write_bytes(data)
        return {"digest": f"sha256:{hexdigest}", "size": len(data)}

    rootfs = {"type": "layers", "diff_ids": [f"sha256:{diff_id.hexdigest()}"]}
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": rootfs}).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **put(config)},
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": f"sha256:{layer.hexdigest()}",
                    "size": size,
                }
            ],
        }
    ).encode()
    entry = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        **put(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "t"},
    }
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return f"sha256:{layer.hexdigest()}"


def test_concurrent_pulls_of_a_cold_100_mb_blob_make_one_upstream_fetch(mirror: Mirror) -> None:
    """20 clients ask for a cold 100 MB blob; the relay holds the upstream's body half-way
    until every client has its first bytes, so all 20 are on the wire during the one fetch
    (the blob cannot be served from the cache: it is not published before it is verified).
    Each client hashes its body as it arrives (nothing whole in memory)."""
    layout = mirror.layouts / "big"
    digest = _big_layout(layout)
    size = (layout / "blobs" / "sha256" / digest.split(":")[1]).stat().st_size
    mirror.push_layout(layout, "team/huge", "v1")
    shutil.rmtree(layout)
    path = f"/v2/team/huge/blobs/{digest}"
    started = threading.Semaphore(0)
    results: list[tuple[int, int, str]] = []
    errors: list[BaseException] = []

    def pull() -> None:
        try:
            with httpx.Client(timeout=300) as client, client.stream("GET", mirror.url + path) as r:
                h, got, told = hashlib.sha256(), 0, False
                for piece in r.iter_raw(_PIECE):
                    h.update(piece)
                    got += len(piece)
                    if not told:
                        started.release()  # this client has bytes of the fetch in flight
                        told = True
                results.append((r.status_code, got, h.hexdigest()))
        except BaseException as exc:  # reported by the test, not lost
            errors.append(exc)
            started.release()

    mark = len(mirror.upstream.hits_since(0))
    mirror.relay.gate.clear()
    mirror.relay.mode = "hold"
    threads = [threading.Thread(target=pull) for _ in range(CLIENTS)]
    try:
        for t in threads:
            t.start()
        for _ in range(CLIENTS):
            assert started.acquire(timeout=120), "a client got no bytes while the fetch was held"
        assert errors == []
        # the one body from the upstream reaches the gate (held half-way) before it opens
        deadline = time.monotonic() + 120
        while mirror.relay.held == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert mirror.relay.held == 1
        assert mirror.blob_size(digest) is None  # still in flight: every client is on it
    finally:
        mirror.relay.mode = "pass"
        mirror.relay.gate.set()
        for t in threads:
            t.join(300)
    assert errors == []
    assert results == [(200, size, digest.split(":")[1])] * CLIENTS
    gets = [h for h in mirror.upstream.hits_since(mark) if h.method == "GET" and h.path == path]
    # one fetch: a 401 challenge for the new repository's token, then one GET with the token
    assert [h.status for h in gets if h.status != 401] == [200], gets
    assert len(gets) <= 2, gets
    assert mirror.blob_size(digest) == size


@pytest.mark.docker
def test_dockerd_pulls_from_the_mirror_while_the_upstream_answers_429_or_is_down(
    mirror: Mirror,
) -> None:
    """dockerd with ``--registry-mirror`` (its own daemon): a first pull caches the image;
    with the upstream answering 429 to everything, ``docker rmi`` then ``docker pull`` works,
    served from the cache (the relay counts the 429s the mirror got, and the mirror's metric
    the stale answers it gave); likewise with the upstream stopped."""
    from _infra._dockerd import started_daemon

    layout = mirror.layouts / "dock"
    oci_layout(layout, [gzip_tar("d.txt", b"pulled while rate limited\n" * 100)])
    mirror.push_layout(layout, "team/limited", "v1")
    stale = (
        'registry_proxy_stale_served_total{type="manifest",upstream="default",reason="ratelimited"}'
    )
    with started_daemon(extra_args=("--registry-mirror", mirror.url)) as daemon:
        first = len(mirror.upstream.hits_since(0))
        daemon.run("pull", "-q", "team/limited:v1")
        fetched = mirror.upstream.hits_since(first)
        assert any(h.method == "GET" and "/team/limited/blobs/" in h.path for h in fetched)
        image = daemon.run("image", "inspect", "-f", "{{.Id}}", "team/limited:v1").stdout
        daemon.run("rmi", "team/limited:v1")
        before, served = mirror.relay.limited, mirror.metric(stale)
        mark = len(mirror.upstream.hits_since(0))
        mirror.relay.mode = "ratelimit"
        try:
            daemon.run("pull", "-q", "team/limited:v1")
        finally:
            mirror.relay.mode = "pass"
        assert mirror.relay.limited > before  # the mirror asked, and was told 429
        assert mirror.upstream.hits_since(mark) == []  # nothing got through the relay
        assert mirror.metric(stale) > served
        again = daemon.run("image", "inspect", "-f", "{{.Id}}", "team/limited:v1").stdout
        assert again == image
        # likewise with the upstream stopped (the relay closes connections without an answer)
        daemon.run("rmi", "team/limited:v1")
        down = mirror.metric(stale.replace("ratelimited", "unavailable"))
        mirror.upstream.stop()
        try:
            daemon.run("pull", "-q", "team/limited:v1")
        finally:
            mirror.upstream.start()
        assert mirror.metric(stale.replace("ratelimited", "unavailable")) > down
        assert daemon.run("image", "inspect", "-f", "{{.Id}}", "team/limited:v1").stdout == image
