"""distribution's ``registry_*`` Prometheus families on dockyard's debug address: the same
image pushed and pulled with skopeo through distribution 2.8.2 (``http.debug.prometheus``)
and through dockyard, both scraped; every ``registry_*`` family distribution shows for those
actions is at dockyard with the same type, label names and buckets, and the same
(code, handler, method) request series."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from _infra._process import run_command, terminate
from _infra._registry import DOCKER_REGISTRY, wait_for_http
from _infra.registry_server import free_port, start_registry

Families = dict[str, Any]


def _layout(where: Path) -> str:
    """A one-layer OCI layout (tag v1); returns its skopeo reference."""
    blobs = where / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> tuple[str, int]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return f"sha256:{digest}", len(data)

    raw = b"metrics test layer\n" * 100
    layer, layer_size = put(gzip.compress(raw, mtime=0))
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
        "config": {},
    }
    config_digest, config_size = put(json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config_size,
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": layer,
                "size": layer_size,
            }
        ],
    }
    digest, size = put(json.dumps(manifest).encode())
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": digest,
                "size": size,
                "annotations": {"org.opencontainers.image.ref.name": "v1"},
            }
        ],
    }
    (where / "index.json").write_text(json.dumps(index))
    (where / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    return f"oci:{where}:v1"


def _push_pull(image: str, host: str, out: Path) -> None:
    target = f"docker://{host}/library/metrics:v1"
    run_command(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", image, target])
    run_command(["skopeo", "copy", "--quiet", "--src-tls-verify=false", target, f"oci:{out}:v1"])


def _scrape(url: str) -> Families:
    page = httpx.get(url)
    assert page.status_code == 200, page.text
    return {
        f.name: f
        for f in text_string_to_metric_families(page.text)
        if f.name.startswith("registry_")
    }


def _distribution_scrape(tmp_path: Path, image: str) -> Families:
    root = tmp_path / "distribution"
    root.mkdir()
    port, debug = free_port(), free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: metrics-tests\n"
        f"  debug:\n    addr: 127.0.0.1:{debug}\n"
        "    prometheus:\n      enabled: true\n      path: /metrics\n"
    )
    proc = subprocess.Popen(
        [DOCKER_REGISTRY, "serve", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/v2/", proc)
        _push_pull(image, f"127.0.0.1:{port}", tmp_path / "out-distribution")
        return _scrape(f"http://127.0.0.1:{debug}/metrics")
    finally:
        terminate(proc)
        if proc.stdout:
            proc.stdout.close()


def _series(family: Any, sample_name: str) -> set[frozenset[tuple[str, str]]]:
    return {
        frozenset((k, v) for k, v in s.labels.items() if k != "le")
        for s in family.samples
        if s.name == sample_name
    }


def _label_names(family: Any) -> set[frozenset[str]]:
    return {frozenset(k for k in s.labels if k != "le") for s in family.samples}


def _buckets(family: Any) -> set[float]:
    return {float(s.labels["le"]) for s in family.samples if s.name.endswith("_bucket")}


@pytest.mark.slow
def test_debug_address_serves_distributions_families(tmp_path: Path) -> None:
    image = _layout(tmp_path / "layout")
    theirs = _distribution_scrape(tmp_path, image)
    assert {
        "registry_http_requests",
        "registry_http_request_duration_seconds",
        "registry_http_in_flight_requests",
        "registry_http_request_size_bytes",
        "registry_http_response_size_bytes",
        "registry_storage_action_seconds",
    } <= set(theirs)  # what distribution 2.8.2 shows after a push and a pull

    debug = f"127.0.0.1:{free_port()}"
    with start_registry(tmp_path / "data", env={"REGISTRY_HTTP_DEBUG_ADDR": debug}) as server:
        _push_pull(image, server.url.removeprefix("http://"), tmp_path / "out-dockyard")
        ours = _scrape(f"http://{debug}/metrics")
        # an upload refused for its digest: counted for its route, not as "other"
        start = httpx.post(f"{server.url}/v2/library/metrics/blobs/uploads/")
        assert start.status_code == 202
        location = start.headers["location"]
        url = location if location.startswith("http") else server.url + location
        wrong = "sha256:" + "0" * 64
        refused = httpx.put(url, params={"digest": wrong}, content=b"not those bytes")
        assert refused.status_code == 400, refused.text
        after = httpx.get(f"http://{debug}/metrics").text

    for name, family in theirs.items():
        assert name in ours, f"{name} missing at dockyard"
        mine = ours[name]
        assert mine.type == family.type, name
        assert mine.documentation == family.documentation, name
        assert _label_names(mine) == _label_names(family), name
        assert _buckets(mine) == _buckets(family), name
    requests = "registry_http_requests_total"
    missing_blob = frozenset({("code", "404"), ("handler", "blob"), ("method", "head")})
    assert missing_blob in _series(theirs["registry_http_requests"], requests)  # an error too
    # the same requests answered the same way: (code, handler, method) series for series
    assert _series(ours["registry_http_requests"], requests) == _series(
        theirs["registry_http_requests"], requests
    )
    duration = "registry_http_request_duration_seconds_count"
    for name, sample in (
        ("registry_http_request_duration_seconds", duration),
        ("registry_http_request_size_bytes", "registry_http_request_size_bytes_count"),
        ("registry_http_response_size_bytes", "registry_http_response_size_bytes_count"),
        ("registry_http_in_flight_requests", "registry_http_in_flight_requests"),
    ):
        assert _series(ours[name], sample) == _series(theirs[name], sample), name
    # every request counted once in each family, and none left in flight
    counts = {
        s.name: s.value for f in ours.values() for s in f.samples if s.name.endswith("_count")
    }
    total = sum(s.value for s in ours["registry_http_requests"].samples)
    assert total > 0
    dur_total = sum(
        s.value for s in ours["registry_http_request_duration_seconds"].samples
        if s.name == duration
    )  # fmt: skip
    assert dur_total == total
    assert counts  # the histograms have samples
    assert all(s.value == 0 for s in ours["registry_http_in_flight_requests"].samples)
    # the storage driver's actions, timed per driver (distribution's actions differ: it
    # keeps manifests and links in the driver, dockyard in its database)
    storage = ours["registry_storage_action_seconds"]
    actions = {
        s.labels["action"]: s.value
        for s in storage.samples
        if s.name == "registry_storage_action_seconds_count"
    }
    assert {s.labels["driver"] for s in storage.samples} <= {"filesystem", "s3aws"}
    assert {"Writer", "Move"} <= set(actions), actions  # the pushed blobs committed
    assert all(v > 0 for v in actions.values())
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(after)
        for s in f.samples
    }
    assert samples[("dockyard_uploads_failed_total", (("reason", "digest"),))] == 1
    chunk = (("code", "400"), ("handler", "blob_upload_chunk"), ("method", "put"))
    assert samples[("registry_http_requests_total", chunk)] == 1
