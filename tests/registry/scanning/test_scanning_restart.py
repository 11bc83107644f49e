"""One registry process on SQLite killed (SIGKILL) in the middle of a scan, then started again
on the same data: the restarted process takes the dead one's scan over at once — the dead
process's liveness lock went with it — though the claim's lease runs for minutes, and records
its report once."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from _infra import run_dockyard
from _infra.cluster_jobs import wait_until
from _infra.registry_server import (
    OCI_CONFIG,
    OCI_LAYER,
    OCI_MANIFEST,
    RegistryProcess,
    descriptor,
    push_blob,
    start_registry,
)
from _infra.scan_env import VULNDB
from _infra.scan_hostile import DPKG_STATUS, image_config, tar_layer
from dockyard.registry.scanning._queue import LEASE

# the test holds SQLite's write lock itself
pytestmark = [pytest.mark.slow, pytest.mark.filesystem_only]

STATUS = b"Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13-1\n"


@pytest.fixture(scope="module")
def vulndb_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("restart-scan-db")
    run_dockyard("db", "import", VULNDB / "osv" / "crates.io", root=root)
    return root


def _push(client: httpx.Client, repo: str) -> str:
    layer = tar_layer([(DPKG_STATUS, STATUS), ("etc/os-release", b'ID=debian\nVERSION_ID="12"\n')])
    config = image_config([layer])
    manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(config, OCI_CONFIG),
         "layers": [descriptor(layer.blob, OCI_LAYER)]}
    ).encode()  # fmt: skip
    for blob in (config, layer.blob):
        push_blob(client, repo, blob)
    r = client.put(
        f"/v2/{repo}/manifests/1", content=manifest, headers={"content-type": OCI_MANIFEST}
    )
    assert r.status_code == 201, r.text
    return str(r.headers["docker-content-digest"])


@contextlib.contextmanager
def _write_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """SQLite's write lock, held from outside: every write of the registry waits."""
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield conn
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def _task(db: Path, digest: str) -> tuple[str, str] | None:
    with contextlib.closing(sqlite3.connect(db, timeout=60)) as conn:
        row = conn.execute(
            "SELECT status, lease_owner FROM scan_tasks WHERE digest = ?", (digest,)
        ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def _report(server: RegistryProcess, digest: str) -> Any:
    r = httpx.get(f"{server.url}/v2/app/_dockyard/scan/{digest}", timeout=30)
    assert r.status_code == 200, r.text
    doc = r.json()
    return doc if doc["status"] != "pending" else None


def test_a_scan_killed_with_its_process_is_resumed_by_the_restarted_one(
    vulndb_store: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config.yml"
    config.write_text(f"version: 0.1\nscanning:\n  workers: 1\n  db: {vulndb_store}\n")
    root = tmp_path / "data"
    with start_registry(root, "--config", str(config)) as server:
        (db,) = root.rglob("registry.db")
        with httpx.Client(base_url=server.url, timeout=60) as client:
            digest = _push(client, "app")
            owner = None
            for _ in range(5):
                r = client.post(f"/v2/app/_dockyard/scan/{digest}")
                assert r.status_code == 202, r.text

                def claimed() -> Any:
                    """The task once claimed; "ended" once the scan ended meanwhile."""
                    task = _task(db, digest)
                    if task is None:
                        return "ended" if _report(server, digest) else None
                    return task if task[0] == "Running" else None

                if wait_until(claimed, 60, lambda: server.log.read_text()) == "ended":
                    continue  # ask again
                # claimed: its report cannot be written while the test holds the write lock
                with _write_lock(db):
                    task = _task(db, digest)
                    if task is not None and task[0] == "Running":
                        owner = task[1].partition(":")[0]
                        server.stop(signal.SIGKILL)
                        break
            assert owner is not None, "every scan ended before the write lock was taken"
    assert f"claiming scans as owner {owner}" in server.log.read_text(errors="replace")
    left = _task(db, digest)
    assert left is not None and left[0] == "Running" and left[1].startswith(f"{owner}:")
    with start_registry(root, "--config", str(config)) as again:
        # the lease runs for minutes; the new process finds its holder dead at once
        doc = wait_until(lambda: _report(again, digest), LEASE / 10,
                         lambda: again.log.read_text(errors="replace"))  # fmt: skip
        assert doc["status"] == "done", doc
        assert doc["report"]["Metadata"]["OS"] == {"Family": "debian", "Name": "12"}
        log = again.log.read_text(errors="replace")
        assert f"scans leased to {owner} are taken over: its process stopped" in log
        assert log.count(f"taking over the scan of app@{digest}") == 1
        assert log.count(f"scanned app@{digest}") == 1
        assert _task(db, digest) is None  # the report is the finished scan's record
