"""The cache's TTL with an injected clock: a dockyard registry app as the upstream and the
mirror app in front of it, both in process (httpx's ASGI transport), the upstream's requests
counted by a response observer."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from _infra import backend
from _infra.registry_server import ASGIClient, push_image
from dockyard.registry import RegistryApp
from dockyard.registry.http import Request
from dockyard.registry.proxy import ProxyConfig, Upstream
from dockyard.registry.proxy.cache import ProxyCache

TTL = 60.0


@dataclass
class Setup:
    upstream: ASGIClient
    mirror: ASGIClient
    requests: list[tuple[str, str, int]]
    cache: ProxyCache
    now: list[float] = field(default_factory=lambda: [1000.0])

    def seen(self) -> list[tuple[str, str, int]]:
        out = list(self.requests)
        self.requests.clear()
        return out


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    requests: list[tuple[str, str, int]] = []

    def observe(request: Request, route: str, status: int, took: float, sent: int) -> None:
        requests.append((request.method, route, status))

    up_registry = backend.open_registry(tmp_path / "upstream")
    up_app = RegistryApp(up_registry, observers=[observe], threads=4)
    mirror_registry = backend.open_registry(tmp_path / "mirror")
    now = [1000.0]
    cache = ProxyCache(
        mirror_registry,
        ProxyConfig((Upstream("up", "http://upstream.test", ttl=TTL),)),
        clock=lambda: now[0],
        transport=httpx.ASGITransport(app=up_app),
    )
    mirror_app = RegistryApp(mirror_registry, handlers=cache.handlers(), threads=4)
    with ASGIClient(up_app) as upstream, ASGIClient(mirror_app) as mirror:
        yield Setup(upstream, mirror, requests, cache, now)
        mirror.loop.run_until_complete(cache.close())
    up_registry.close()
    mirror_registry.close()


def test_ttl_hit_then_head_revalidation_then_changed_tag(setup: Setup) -> None:
    first = push_image(setup.upstream, "lib/app", "v1", seed="one")
    setup.seen()
    r = setup.mirror.get("/v2/lib/app/manifests/v1")
    assert r.status_code == 200 and r.headers["docker-content-digest"] == first.digest
    assert setup.seen() == [("GET", "manifest", 200)]

    setup.now[0] += TTL - 1  # still fresh: answered without the upstream
    assert setup.mirror.get("/v2/lib/app/manifests/v1").content == first.manifest
    assert setup.mirror.head("/v2/lib/app/manifests/v1").status_code == 200
    assert setup.seen() == []

    setup.now[0] += 2  # expired, unchanged upstream: one HEAD, no GET
    assert setup.mirror.get("/v2/lib/app/manifests/v1").content == first.manifest
    assert setup.seen() == [("HEAD", "manifest", 200)]
    assert setup.mirror.get("/v2/lib/app/manifests/v1").status_code == 200
    assert setup.seen() == []  # fresh again for another TTL

    second = push_image(setup.upstream, "lib/app", "v1", seed="two")
    setup.seen()
    setup.now[0] += TTL + 1
    r = setup.mirror.get("/v2/lib/app/manifests/v1")
    assert r.headers["docker-content-digest"] == second.digest
    assert setup.seen() == [("HEAD", "manifest", 200), ("GET", "manifest", 200)]


@pytest.mark.slow
def test_blobs_and_digests_are_fetched_once(setup: Setup) -> None:
    image = push_image(setup.upstream, "lib/app", "v1", seed="blobs")
    setup.seen()
    layer = image.layers[0]
    path = "/v2/lib/app/blobs/sha256:" + hashlib.sha256(layer).hexdigest()
    assert setup.mirror.get(path).content == layer
    assert setup.mirror.get(f"/v2/lib/app/manifests/{image.digest}").content == image.manifest
    assert setup.seen() == [("GET", "blob", 200), ("GET", "manifest", 200)]
    setup.now[0] += 10 * TTL  # content-addressed: never revalidated
    assert setup.mirror.get(path).content == layer
    assert setup.mirror.get(f"/v2/lib/app/manifests/{image.digest}").status_code == 200
    assert setup.seen() == []
    # distribution's registry_proxy_* counters agree: one miss and one hit of each kind, the
    # bytes pulled are the blob's and the manifest's, each upstream request counted once
    metrics = setup.cache.metrics
    for kind in ("blob", "manifest"):
        assert (metrics.misses.value(kind, "up"), metrics.hits.value(kind, "up")) == (1, 1)
    assert metrics.pulled_bytes.value("blob", "up") == len(layer)
    assert metrics.pulled_bytes.value("manifest", "up") == len(image.manifest)
    assert metrics.upstream_requests.value("up", "GET", "200") == 2


def test_missing_upstream_content_is_the_upstreams_404(setup: Setup) -> None:
    r = setup.mirror.get("/v2/lib/none/manifests/v1")
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert "upstream up" in r.json()["errors"][0]["message"]
    r = setup.mirror.get("/v2/lib/none/blobs/sha256:" + "0" * 64)
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "BLOB_UNKNOWN"
