"""Several processes on one data directory: a write in one is seen by the others at once
(shared change counters, no stale cache), and ``--workers 2`` serves one address from two
processes with metrics added up and every access log line written by shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from _infra.registry_server import (
    OCI_MANIFEST,
    ASGIClient,
    free_port,
    make_manifest,
    push_blob,
    start_registry,
)
from dockyard.errors import ManifestUnknown
from dockyard.registry import Registry, RegistryApp
from dockyard.registry._shared import SharedGenerations


def manifest_for(client: httpx.Client | ASGIClient, name: str, seed: str) -> bytes:
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
    layer = f"layer-{seed}".encode() * 50
    push_blob(client, name, config)
    push_blob(client, name, layer)
    return make_manifest(config, [layer])


def put(client: httpx.Client | ASGIClient, name: str, tag: str, body: bytes) -> None:
    r = client.put(
        f"/v2/{name}/manifests/{tag}", content=body, headers={"content-type": OCI_MANIFEST}
    )
    assert r.status_code == 201, r.text


def test_two_registries_on_one_directory_never_serve_a_stale_cache(tmp_path: Path) -> None:
    # two Registry objects = two caches and two mappings of the counters, as two processes have
    a, b = Registry.open(tmp_path / "data"), Registry.open(tmp_path / "data")
    try:
        with (
            ASGIClient(RegistryApp(a, threads=2)) as ca,
            ASGIClient(RegistryApp(b, threads=2)) as cb,
        ):
            first, second = manifest_for(ca, "app", "1"), manifest_for(ca, "app", "2")
            put(ca, "app", "v1", first)
            for _ in range(2):  # cached in both now
                assert cb.get("/v2/app/manifests/v1").content == first
                assert ca.get("/v2/app/manifests/v1").content == first
            assert cb.get("/v2/app/tags/list").json()["tags"] == ["v1"]
            assert b.cached_manifest("app", "v1") is not None

            put(ca, "app", "v1", second)  # written by A: B sees it on its next read
            assert cb.get("/v2/app/manifests/v1").content == second
            assert cb.get("/v2/app/manifests/v1").content == second
            put(cb, "app", "v2", first)  # and the other way round
            assert ca.get("/v2/app/tags/list").json()["tags"] == ["v1", "v2"]

            assert cb.delete("/v2/app/manifests/v1").status_code == 202
            assert ca.get("/v2/app/manifests/v1").status_code == 404
            with pytest.raises(ManifestUnknown):
                a.manifest("app", "v1")
    finally:
        a.close()
        b.close()


def test_a_read_racing_a_write_in_another_process_is_not_cached(tmp_path: Path) -> None:
    a, b = Registry.open(tmp_path / "data"), Registry.open(tmp_path / "data")
    try:
        with ASGIClient(RegistryApp(a, threads=2)) as ca:
            put(ca, "app", "v1", manifest_for(ca, "app", "1"))
        taken = b.cache.generation("app")  # B starts a read…
        old = b.meta.manifest_by_tag("app", "v1")
        assert old is not None
        assert a.shared is not None
        a.shared.bump("app")  # …A commits a change meanwhile
        b.cache.put_manifest("app", "v1", old, taken)
        assert b.cached_manifest("app", "v1") is None  # what B read may be old: not kept
    finally:
        a.close()
        b.close()


def test_shared_counters_count_across_mappings(tmp_path: Path) -> None:
    one, two = SharedGenerations(tmp_path / "g"), SharedGenerations(tmp_path / "g")
    assert one.get("r") == two.get("r") == 0
    for _ in range(3):
        one.bump("r")
    two.bump("r")
    assert one.get("r") == two.get("r") == 4
    assert one.slot("r") == two.slot("r")
    one.close()
    two.close()


def requests_total(text: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "dockyard_http_requests_total" and s.labels.get("route") == "manifest"
    )


@pytest.mark.slow
def test_two_worker_processes_serve_one_address(tmp_path: Path) -> None:
    debug = f"127.0.0.1:{free_port()}"
    env = {"REGISTRY_HTTP_DEBUG_ADDR": debug}
    with start_registry(tmp_path / "data", "--workers", "2", env=env) as server:
        workers = _children(server.process.pid)
        assert len(workers) == 2, workers
        with httpx.Client(base_url=server.url) as client:
            first, second = manifest_for(client, "app", "1"), manifest_for(client, "app", "2")
            put(client, "app", "v1", first)
        # fresh connections: the kernel spreads them over both workers, each caches the tag
        for _ in range(16):
            with httpx.Client(base_url=server.url) as c:
                assert (
                    c.get("/v2/app/manifests/v1", headers={"x-request-id": "warm"}).content == first
                )
        with httpx.Client(base_url=server.url) as client:
            put(client, "app", "v1", second)
        for _ in range(16):
            with httpx.Client(base_url=server.url) as c:
                assert (
                    c.get("/v2/app/manifests/v1", headers={"x-request-id": "new"}).content == second
                )
        # metrics (on the debug address, served by the first worker) add up both workers'
        # counts (the other worker's are at most 0.5 s old)
        deadline = time.monotonic() + 10
        while True:
            with httpx.Client(base_url=f"http://{debug}") as c:
                total = requests_total(c.get("/metrics").text)
            if total >= 34 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert total == 34  # 2 manifest PUTs and 32 GETs
        server.stop()
        assert not any(_alive(pid) for pid in workers)
    lines = server.log.read_text().splitlines()
    assert sum(1 for x in lines if x.endswith(" warm")) == 16
    assert sum(1 for x in lines if x.endswith(" new")) == 16
    assert server.process.returncode == 0


def _children(pid: int) -> list[int]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if found:
            return [int(x) for x in found]
        time.sleep(0.05)
    return []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_workers_setting() -> None:
    from dockyard.errors import InvalidArgument
    from dockyard.registry.config import load

    base = {"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "data"}
    assert load(None, base).http.workers == 1
    assert load(None, {**base, "REGISTRY_HTTP_WORKERS": "4"}).http.workers == 4
    with pytest.raises(InvalidArgument, match="use 1 to 64"):
        load(None, {**base, "REGISTRY_HTTP_WORKERS": "0"})


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie's sockets are already closed)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.01)
    return False


def _worker_pids(pid: int, exclude: frozenset[int] = frozenset(), count: int = 2) -> list[int]:
    """The supervisor's children once there are ``count`` of them not in ``exclude``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        if len(found) == count and not exclude & set(found):
            return found
        time.sleep(0.1)
    return []


def _listening(pids: list[int], port: int) -> bool:
    """Whether every one of ``pids`` holds a listening TCP socket on ``port`` (each worker
    binds its own), waiting up to 60 s: a worker still connecting to its database or bucket
    has not bound yet, and killing the only one that has would leave nobody to answer."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
        listening = {
            f"socket:[{row.split()[9]}]"
            for row in table
            if row.split()[3] == "0A" and int(row.split()[1].rsplit(":", 1)[1], 16) == port
        }
        held = []
        for pid in pids:
            fds = Path(f"/proc/{pid}/fd")
            try:
                links = {os.readlink(fd) for fd in fds.iterdir()}
            except (FileNotFoundError, ProcessLookupError):
                links = set()
            held.append(bool(links & listening))
        if all(held):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_a_killed_worker_is_restarted_and_sigterm_stops_all(tmp_path: Path) -> None:
    with start_registry(tmp_path / "data", "--workers", "2") as server:
        first = _worker_pids(server.process.pid)
        assert len(first) == 2, first
        assert _listening(first, int(server.host.rsplit(":", 1)[1])), first
        victim = first[0]
        os.kill(victim, signal.SIGKILL)
        # Connections the kernel queued on the victim's own socket in the instant it died are
        # reset (Linux does so unless net.ipv4.tcp_migrate_req=1); once its sockets are closed
        # every fresh connection goes to the live worker, while the dead one is replaced.
        assert _gone(victim)
        for _ in range(20):
            with httpx.Client(base_url=server.url, timeout=5) as c:
                assert c.get("/v2/").status_code == 200
        after = _worker_pids(server.process.pid, exclude=frozenset({victim}))
        assert len(after) == 2 and first[1] in after, (first, after)
        assert server.process.poll() is None
        for _ in range(10):
            with httpx.Client(base_url=server.url, timeout=5) as c:
                assert c.get("/v2/").status_code == 200
        server.stop()
        assert server.process.returncode == 0
        assert not any(_alive(pid) for pid in after)
    text = server.log.read_text()
    assert "killed by signal SIGKILL" in text and "restarting" in text, text[-3000:]


_SUPERVISE = """
import logging, os, sys, time
from pathlib import Path
from dockyard.registry._workers import run_workers

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
mode, port, marks = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])

def serve(worker):
    starts = marks / f"starts-{worker.index}"
    with open(starts, "a") as f:
        f.write("x")
    if mode == "all-fail" or (worker.index == 1 and len(starts.read_text()) <= 2):
        raise RuntimeError(f"worker {worker.index} cannot start: bad setting")
    worker.ready()
    time.sleep(60)

sys.exit(run_workers(2, "127.0.0.1", port, serve))
"""


def _supervise(tmp_path: Path, mode: str) -> subprocess.Popen[str]:
    script = tmp_path / "supervise.py"
    script.write_text(_SUPERVISE)
    port = free_port()
    return subprocess.Popen(
        [sys.executable, str(script), mode, str(port), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_workers_that_all_fail_to_start_stop_the_supervisor(tmp_path: Path) -> None:
    with _supervise(tmp_path, "all-fail") as proc:
        try:
            output, _ = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert proc.returncode == 1, output
    assert "cannot start: bad setting" in output
    assert "no worker started" in output
    # one start each, no loop
    assert [len((tmp_path / f"starts-{i}").read_text()) for i in range(2)] == [1, 1]


@pytest.mark.slow
def test_a_worker_failing_at_start_is_retried_with_backoff_while_others_serve(
    tmp_path: Path,
) -> None:
    with _supervise(tmp_path, "one-flaky") as proc:
        try:
            deadline = time.monotonic() + 30
            starts = tmp_path / "starts-1"
            while time.monotonic() < deadline:
                if starts.exists() and len(starts.read_text()) >= 3:
                    break
                time.sleep(0.1)
            assert len(starts.read_text()) == 3  # failed twice, restarted, now serving
            time.sleep(0.5)
            assert proc.poll() is None
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert proc.returncode == 0, output
    assert output.count("worker 1 cannot start") == 2, output
    assert "restarting in 0.5 s" in output and "restarting in 1 s" in output, output
