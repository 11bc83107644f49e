"""The scanning section, unscanned and failed scans, indexes and artifacts under the
block-severity policy: the app ``registry serve`` builds, driven in-process (the scans run in
its worker threads against the PyPI advisories of the shared test data)."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _infra import run_dockyard
from _infra.registry_server import (
    OCI_INDEX,
    OCI_MANIFEST,
    ASGIClient,
    descriptor,
    error_code,
    push_blob,
    sha256,
)
from dockyard.errors import InvalidArgument
from dockyard.registry import RegistryApp
from dockyard.registry._server import build_app
from dockyard.registry.config import from_yaml
from dockyard.registry.scanning import ScanningConfig

#: manifest sizes by digest, for the index test
sizes: dict[str, int] = {}
VULNDB = Path(__file__).resolve().parents[3] / ".." / "shared" / "testdata" / "vulndb"
SITE = "usr/local/lib/python3.11/site-packages"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"


@pytest.fixture(scope="module")
def vulndb_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (VULNDB / "osv" / "PyPI").is_dir():
        pytest.fail(f"the vulnerability test data is missing: expected {VULNDB.resolve()}")
    root = tmp_path_factory.mktemp("scan-policy-db")
    run_dockyard("db", "import", VULNDB / "osv" / "PyPI", root=root)
    return root


def dist_info_layer(name: str, version: str) -> tuple[bytes, str]:
    """A gzip layer holding one installed distribution's METADATA."""
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(f"{SITE}/{name}-{version}.dist-info/METADATA")
        info.size = len(metadata)
        tar.addfile(info, io.BytesIO(metadata))
    return gzip.compress(raw.getvalue(), mtime=0), sha256(raw.getvalue())


def push(
    client: ASGIClient, repo: str, tag: str, layers: list[tuple[str, str]], config_type: str
) -> str:
    blobs, diff_ids = [], []
    for name, version in layers:
        blob, diff_id = dist_info_layer(name, version)
        blobs.append(blob)
        diff_ids.append(diff_id)
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    ).encode()
    for blob in (config, *blobs):
        push_blob(client, repo, blob)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(config, config_type),
            "layers": [descriptor(b, "application/vnd.oci.image.layer.v1.tar+gzip") for b in blobs],
        }
    ).encode()
    r = client.put(
        f"/v2/{repo}/manifests/{tag}", content=manifest, headers={"content-type": OCI_MANIFEST}
    )
    assert r.status_code == 201, r.text
    sizes[sha256(manifest)] = len(manifest)
    return sha256(manifest)


def report(client: ASGIClient, repo: str, ref: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/v2/{repo}/_dockyard/scan/{ref}")
        assert r.status_code == 200, r.text
        if r.json()["status"] != "pending":
            return r.json()
        assert time.monotonic() < deadline, r.json()
        time.sleep(0.1)


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Any]:
    apps: list[RegistryApp] = []
    clients: list[ASGIClient] = []

    def make(scanning: str) -> ASGIClient:
        config = tmp_path / f"config-{len(apps)}.yml"
        config.write_text(
            "version: 0.1\n"
            f"storage: {{filesystem: {{rootdirectory: {tmp_path / f'data-{len(apps)}'}}}}}\n"
            f"scanning:\n{scanning}"
        )
        app = build_app(from_yaml(config), access_log=False)
        apps.append(app)
        clients.append(ASGIClient(app))
        return clients[-1]

    yield make
    for client in clients:
        client.close()
    for app in apps:
        for stop in app.on_shutdown:
            stop()
        app.registry.close()


def test_scanning_section_shapes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert ScanningConfig.from_section("on-push").on_push
    config = ScanningConfig.from_section(
        {"on-push": "true", "block-severity": "high", "workers": "3", "db": str(tmp_path)}
    )
    assert config.blocked_severities == {"HIGH", "CRITICAL"}
    assert config.workers == 3 and config.block_unscanned
    assert config.db_path() == tmp_path / "vulndb" / "vulndb.sqlite"  # a store directory
    assert not ScanningConfig.from_section({"block-severity": "none"}).blocking
    with pytest.raises(InvalidArgument, match="block-severity 'SEVERE' is not a severity"):
        ScanningConfig.from_section({"block-severity": "SEVERE"})
    with pytest.raises(InvalidArgument, match=r"unknown key\(s\) scanning\.on_push"):
        ScanningConfig.from_section({"on_push": True})
    with pytest.raises(InvalidArgument, match=r"workers must be 1\.\.64"):
        ScanningConfig.from_section({"workers": 0})
    # an earlier version's key: accepted (configs in the wild carry it), ignored, said so
    assert "lease-seconds" not in caplog.text
    assert ScanningConfig.from_section({"lease-seconds": 30}) == ScanningConfig()
    assert "scanning.lease-seconds is ignored (deprecated)" in caplog.text
    with pytest.raises(InvalidArgument, match="scanning must be a mapping"):
        ScanningConfig.from_section(["on-push"])


def test_index_artifact_and_allow_list(make_app: Any, vulndb_store: Path) -> None:
    client = make_app(
        f"  on-push: true\n  block-severity: HIGH\n  db: {vulndb_store}\n  allow: [PYSEC-2024-60]\n"
    )
    vulnerable = push(client, "app", "old", [("urllib3", "1.24.1")], DOCKER_CONFIG)
    allowed = push(client, "app", "idna", [("idna", "2.7")], DOCKER_CONFIG)  # HIGH, allowed
    clean = push(client, "app", "new", [("urllib3", "2.2.2")], DOCKER_CONFIG)
    doc = report(client, "app", "old")
    ids = {r["VulnerabilityID"] for r in doc["report"]["Results"]}
    assert "PYSEC-2023-192" in ids and doc["policy"]["blocked"]
    assert report(client, "app", "idna")["policy"] == {
        "blockSeverity": "HIGH",
        "blocked": False,
        "blocking": [],
    }
    assert report(client, "app", "new")["report"]["Results"] == []

    r = client.get("/v2/app/manifests/old")
    assert r.status_code == 403 and error_code(r) == "DENIED"
    assert (
        "PYSEC-2023-192 (urllib3 1.24.1, HIGH, fixed in 1.26.17)"
        in r.json()["errors"][0]["message"]
    )
    assert client.head("/v2/app/manifests/old").status_code == 200  # HEAD hands out no content
    assert client.get(f"/v2/app/manifests/{allowed}").status_code == 200
    assert client.get("/v2/app/manifests/new").status_code == 200

    # an index: refused when any image it lists is; its report has one entry per image
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": d, "size": sizes[d], "platform": p}
                for d, p in (
                    (clean, {"os": "linux", "architecture": "amd64"}),
                    (vulnerable, {"os": "linux", "architecture": "arm64"}),
                )
            ],
        }
    ).encode()
    r = client.put("/v2/app/manifests/multi", content=index, headers={"content-type": OCI_INDEX})
    assert r.status_code == 201, r.text
    doc = report(client, "app", "multi")
    assert doc["status"] == "done" and doc["blocked"] is True
    assert [(m["platform"], m["policy"]["blocked"]) for m in doc["manifests"]] == [
        ("linux/amd64", False),
        ("linux/arm64", True),
    ]
    r = client.get("/v2/app/manifests/multi")
    assert r.status_code == 403 and "PYSEC-2023-192" in r.text

    # an artifact (not an image config) is neither scanned nor blocked
    artifact = push(client, "app", "sbom", [("urllib3", "1.24.1")], "application/vnd.example+json")
    assert client.get(f"/v2/app/manifests/{artifact}").status_code == 200
    r = client.get("/v2/app/_dockyard/scan/sbom")
    assert r.status_code == 404 and "only images are scanned" in r.text
    assert client.get("/v2/app/_other/x").status_code == 404


def test_unscanned_images(make_app: Any, vulndb_store: Path, tmp_path: Path) -> None:
    # no database: the scan fails, and a failed scan blocks like a pending one
    client = make_app(f"  on-push: true\n  block-severity: HIGH\n  db: {tmp_path / 'none.db'}\n")
    push(client, "app", "v1", [("urllib3", "2.2.2")], DOCKER_CONFIG)
    doc = report(client, "app", "v1")
    assert doc["status"] == "failed" and "no vulnerability database" in doc["error"]
    r = client.get("/v2/app/manifests/v1")
    assert r.status_code == 403 and "no finished scan report" in r.text and "failed" in r.text

    # block-unscanned: false lets images without a report through
    client = make_app(
        f"  on-push: true\n  block-severity: HIGH\n  block-unscanned: false\n"
        f"  db: {tmp_path / 'none.db'}\n"
    )
    push(client, "app", "v1", [("urllib3", "2.2.2")], DOCKER_CONFIG)
    assert report(client, "app", "v1")["status"] == "failed"
    assert client.get("/v2/app/manifests/v1").status_code == 200

    # without on-push, the first pull queues the scan (and is refused until it is done)
    client = make_app(f"  block-severity: HIGH\n  db: {vulndb_store}\n")
    push(client, "app", "v1", [("urllib3", "1.24.1")], DOCKER_CONFIG)
    r = client.get("/v2/app/manifests/v1")
    assert r.status_code == 403 and "not scanned yet; queued now" in r.text
    assert report(client, "app", "v1")["policy"]["blocked"] is True
    r = client.get("/v2/app/manifests/v1")
    assert r.status_code == 403 and "PYSEC-2023-192" in r.text


def test_every_worker_takes_up_pending_scans_and_starting_queues_nothing_again(
    vulndb_store: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A scan left pending by a stopped registry (queued while none ran) is a task of the job
    queue: the next start's workers claim it, one of them runs it, and starting scans no
    finished image again."""
    from dockyard.registry._workers import Worker
    from dockyard.registry.scanning._records import ScanRecords

    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'data'}}}}}\n"
        f"scanning:\n  on-push: false\n  db: {vulndb_store}\n"
    )

    def start(worker: Worker | None) -> tuple[RegistryApp, ASGIClient]:
        app = build_app(from_yaml(config), access_log=False, worker=worker)
        return app, ASGIClient(app)

    def stop(app: RegistryApp, client: ASGIClient) -> None:
        client.close()
        for shutdown in app.on_shutdown:
            shutdown()
        app.registry.close()

    app, client = start(None)
    left = push(client, "app", "left", [("urllib3", "1.24.1")], DOCKER_CONFIG)
    done = push(client, "app", "done", [("urllib3", "1.26.18")], DOCKER_CONFIG)
    assert client.post("/v2/app/_dockyard/scan/done").status_code == 202
    assert report(client, "app", "done")["status"] == "done"
    stop(app, client)
    records = ScanRecords(app.registry.meta.db)  # the stopped registry's database
    assert records.queue(left, "app")  # queued while no registry runs
    finished = records.get(done)
    assert finished is not None and finished.status == "done"

    caplog.set_level("INFO", logger="dockyard.registry.scanning")
    caplog.clear()
    second = start(Worker(1, 2, tmp_path / "run"))
    first = start(Worker(0, 2, tmp_path / "run"))
    try:
        assert "1 scan(s) waiting in the queue" in caplog.text
        assert report(second[1], "app", "left")["status"] == "done"
        assert report(first[1], "app", "left")["status"] == "done"
        assert caplog.text.count(f"scanning app@{left}") == 1  # one worker ran it
        assert f"scanning app@{done}" not in caplog.text  # nothing scanned again
        again = records.get(done)
        assert again is not None and again.finished_at == finished.finished_at
    finally:
        stop(*first)
        stop(*second)
