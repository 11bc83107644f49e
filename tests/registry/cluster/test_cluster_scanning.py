"""Scanning on three registry replicas behind the balancer, sharing one PostgreSQL database,
S3 bucket and Redis: a scan asked for through one replica runs once, in one replica, reading
the image's blobs from the bucket, and its report is served by every replica; a replica killed
(SIGKILL) in the middle of a scan has the scan finished by another within seconds — its
liveness lock is gone — though the claim's lease runs for minutes; the killed replica started
again scans nothing again."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from _infra import run_dockyard
from _infra.cluster import Backends, Cluster, start_cluster
from _infra.cluster_jobs import wait_until, write_lock
from _infra.registry_server import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, descriptor, push_blob
from _infra.scan_env import VULNDB
from _infra.scan_hostile import DPKG_STATUS, image_config, tar_layer
from dockyard.registry.metadata import Database
from dockyard.registry.scanning import ScanRecord, ScanRecords
from dockyard.registry.scanning._queue import LEASE
from dockyard.registry.scanning._records import scan_tasks

pytestmark = pytest.mark.slow

STATUS = (
    b"Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13-1\nArchitecture: amd64\n"
)


@pytest.fixture(scope="module")
def vulndb_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store whose vulnerability database holds a few advisories (scans need a non-empty one)."""
    root = tmp_path_factory.mktemp("cluster-scan-db")
    run_dockyard("db", "import", VULNDB / "osv" / "crates.io", root=root)
    return root


@pytest.fixture(scope="module")
def cluster(
    backends: Backends, tmp_path_factory: pytest.TempPathFactory, vulndb_store: Path
) -> Iterator[Cluster]:
    # lease-seconds: an earlier version's key, accepted and ignored
    scanning = {"workers": 1, "db": str(vulndb_store), "lease-seconds": 4}
    with start_cluster(
        backends, tmp_path_factory.mktemp("scanning"), config={"scanning": scanning}
    ) as started:
        yield started


@pytest.fixture(scope="module")
def records(cluster: Cluster) -> Iterator[ScanRecords]:
    db: Database = cluster.db()
    yield ScanRecords(db)
    db.close()


def _push(cluster: Cluster, repo: str, seed: str) -> str:
    """An image with a Debian package database, pushed through the balancer; its digest."""
    layer = tar_layer([(DPKG_STATUS, STATUS), ("etc/os-release", b'ID=debian\nVERSION_ID="12"\n'),
                       ("seed", seed.encode())])  # fmt: skip
    config = image_config([layer])
    manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(config, OCI_CONFIG),
         "layers": [descriptor(layer.blob, OCI_LAYER)]}
    ).encode()  # fmt: skip
    with httpx.Client(base_url=cluster.url, timeout=60) as client:
        for blob in (config, layer.blob):
            push_blob(client, repo, blob)
        r = client.put(
            f"/v2/{repo}/manifests/1", content=manifest, headers={"content-type": OCI_MANIFEST}
        )
        assert r.status_code == 201, r.text
        return str(r.headers["docker-content-digest"])


def _ask(cluster: Cluster, replica: str, repo: str) -> None:
    r = httpx.post(f"{cluster.replicas[replica].url}/v2/{repo}/_dockyard/scan/1", timeout=60)
    assert r.status_code == 202, r.text


def _ended(records: ScanRecords, digest: str) -> ScanRecord | None:
    row = records.get(digest)
    return row if row is not None and row.status != "pending" else None


def _scans_logged(cluster: Cluster, repo: str) -> int:
    return sum(r.log.read_text(errors="replace").count(f"scanning {repo}@") for r in
               cluster.replicas.values())  # fmt: skip


def _tasks(records: ScanRecords, digest: str) -> list[Any]:
    with records.db.read() as conn:
        return list(conn.execute(select(scan_tasks).where(scan_tasks.c.digest == digest)))


def _owner_of(cluster: Cluster, owner: str) -> str:
    """The replica whose scanner claims as ``owner`` (it logs its name at start)."""
    (name,) = [n for n, r in cluster.replicas.items()
               if f"claiming scans as owner {owner}" in r.log.read_text(errors="replace")]  # fmt: skip
    return name


def test_a_scan_asked_through_one_replica_runs_once_and_every_replica_serves_it(
    cluster: Cluster, records: ScanRecords
) -> None:
    digest = _push(cluster, "apps/once", "once")
    _ask(cluster, "registry-2", "apps/once")
    row = wait_until(lambda: _ended(records, digest), 90, cluster.logs)
    assert row.status == "done", row.error
    finished = None
    for name, replica in cluster.replicas.items():
        r = httpx.get(f"{replica.url}/v2/apps/once/_dockyard/scan/1", timeout=60)
        assert r.status_code == 200, (name, r.text)
        doc = r.json()
        assert doc["status"] == "done", (name, doc)
        finished = finished or doc["finishedAt"]
        assert doc["report"]["Metadata"]["OS"] == {"Family": "debian", "Name": "12"}
        assert doc["digest"] == digest and doc["finishedAt"] == finished, (name, doc)
    time.sleep(2.5)  # every replica polls the queue each second: none scans it again
    again = records.get(digest)
    assert again is not None and again.finished_at == row.finished_at
    assert _tasks(records, digest) == []  # the report is the finished scan's record
    assert _scans_logged(cluster, "apps/once") == 1, cluster.logs()
    assert "taking over the scan" not in cluster.logs()
    # the configs of earlier versions still start, and say what became of their key
    for replica in cluster.replicas.values():
        assert "scanning.lease-seconds is ignored" in replica.log.read_text(errors="replace")


def test_a_scan_whose_replica_is_killed_mid_scan_is_finished_by_another_within_seconds(
    cluster: Cluster, records: ScanRecords
) -> None:
    digest = _push(cluster, "apps/orphan", "orphan")
    victim = owner = None
    before: dict[str, int] = {}
    for _ in range(5):
        _ask(cluster, "registry-1", "apps/orphan")  # (again:) pending, not claimed yet

        def running() -> Any:
            tasks = _tasks(records, digest)
            if not tasks:  # ended already (the next round asks again)
                return "ended" if _ended(records, digest) else None
            return tasks[0] if tasks[0].status == "Running" else None

        found = wait_until(running, 60, cluster.logs)
        if found == "ended":
            continue
        # claimed: keep the scan from ending (its last step is a write) and kill its replica
        with write_lock(records.db.engine):
            tasks = _tasks(records, digest)
            if tasks and tasks[0].status == "Running":
                owner = tasks[0].lease_owner.partition(":")[0]
                victim = _owner_of(cluster, owner)
                before = {n: r.log.read_text(errors="replace").count("scanned apps/orphan@")
                          for n, r in cluster.replicas.items()}  # fmt: skip
                cluster.kill(victim)
                break
    assert victim is not None, "every scan ended before the write lock was taken"
    # the claim's lease runs for minutes (LEASE); a survivor sees at its next poll that the
    # claim's owner is dead, takes the scan over and finishes it
    row = wait_until(lambda: _ended(records, digest), LEASE / 10, cluster.logs)
    assert row.status == "done", row.error
    assert row.report is not None and row.report["Metadata"]["OS"]["Family"] == "debian"
    assert _tasks(records, digest) == []
    with httpx.Client(base_url=cluster.url, timeout=60) as client:  # the balancer: survivors
        for _ in range(4):
            doc = client.get("/v2/apps/orphan/_dockyard/scan/1").json()
            assert doc["status"] == "done" and doc["finishedAt"] is not None, doc
    logs = {n: r.log.read_text(errors="replace") for n, r in cluster.replicas.items()}
    took_over = [n for n, text in logs.items()
                 if f"taking over the scan of apps/orphan@{digest}" in text]  # fmt: skip
    assert len(took_over) == 1 and took_over[0] != victim, cluster.logs()
    assert f"scans leased to {owner} are taken over: its process stopped" in logs[took_over[0]]
    # one scan ran to its end after the kill: the survivor's (the victim's result never
    # reached the table: its transaction waited for the lock, and died with its process)
    finished = sum(text.count("scanned apps/orphan@") - before[n] for n, text in logs.items()
                   if n != victim)  # fmt: skip
    assert finished == 1, cluster.logs()
    # the killed replica starts again: it queues nothing again and scans nothing
    cluster.restart(victim)
    time.sleep(2.5)
    restarted = cluster.replicas[victim].log.read_text(errors="replace")
    assert "claiming scans as owner" in restarted and "scanning apps/" not in restarted
    assert "waiting in the queue" not in restarted
    again = records.get(digest)
    assert again is not None and again.finished_at == row.finished_at
