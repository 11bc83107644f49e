"""A scan worker is a real process: :meth:`ScanWorkers.cancel` kills the one running a
stopped scan (its ``run`` answers "stopped", nothing to record) and leaves the others alone.
The workers here block on a named pipe standing for their config blob, so that they are
still running when they are cancelled."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from _infra.projects_registry import wait_for
from _infra.registry_server import OCI_CONFIG, OCI_MANIFEST
from dockyard.registry.limits import Limits
from dockyard.registry.scanning._job import ScanJob, ScanOutcome
from dockyard.registry.scanning._sandbox import ScanWorkers
from dockyard.scan import ScanBudget


def _blocked_job(tmp: Path, name: str) -> ScanJob:
    """A job whose config is a named pipe no one writes: its worker waits in open()."""
    fifo = tmp / f"{name}.config"
    os.mkfifo(fifo)
    config = "sha256:" + hashlib.sha256(name.encode()).hexdigest()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": OCI_CONFIG, "digest": config, "size": 10},
                           "layers": []}).encode()  # fmt: skip
    limits = Limits()
    return ScanJob(
        name=f"team/{name}@sha256:{hashlib.sha256(manifest).hexdigest()}",
        digest="sha256:" + hashlib.sha256(manifest).hexdigest(), media_type=OCI_MANIFEST,
        manifest=manifest, blob_paths={config: str(fifo)}, db_path=str(tmp / "none.sqlite"),
        budget=ScanBudget(), memory_bytes=limits.scan_memory_bytes, cpu_seconds=60,
    )  # fmt: skip


def test_cancel_kills_the_worker_of_one_scan(tmp_path: Path) -> None:
    workers = ScanWorkers()
    jobs = {name: _blocked_job(tmp_path, name) for name in ("stopped", "running")}
    outcomes: dict[str, ScanOutcome | None] = {}

    def run(name: str) -> None:
        outcomes[name] = workers.run(jobs[name])

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in jobs]
    for thread in threads:
        thread.start()
    try:
        assert workers.cancel("team/nothing@sha256:0") == 0
        # once its process runs, cancelling the stopped scan kills exactly one worker
        wait_for(lambda: workers.cancel(jobs["stopped"].name) == 1, timeout=30)
        threads[0].join(timeout=30)
        assert outcomes["stopped"] == ScanOutcome(error="the scan was stopped", stopped=True)
        assert "running" not in outcomes  # the other one still waits on its pipe
        assert workers.cancel(jobs["stopped"].name) == 0  # gone
    finally:
        workers.close()  # the other worker is killed: its scan is not stopped, just over
    threads[1].join(timeout=30)
    assert outcomes["running"] is None
