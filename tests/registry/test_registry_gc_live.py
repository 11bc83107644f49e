"""`dockyard registry gc` in a loop against a live server's data dir while skopeo pushes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from _infra import backend, dockyard_executable, run_command
from _infra.oci_layout import gzip_tar, oci_layout
from _infra.registry_server import backdate, start_registry

GC: list[str | os.PathLike[str]] = [dockyard_executable(), "registry", "gc", "--root"]


def _skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    return run_command(["skopeo", *args], timeout=120)


@pytest.mark.slow
def test_gc_loop_while_skopeo_pushes_loses_nothing(tmp_path: Path) -> None:
    root = tmp_path / "data"
    # layers shared by the garbage and by the new pushes: the collector deletes them while
    # pushes find them present (HEAD), or pushes upload them again after they are gone
    shared = [gzip_tar(f"shared{i}", os.urandom(200_000)) for i in range(4)]
    images = {
        f"app{i}:v{j}": [shared[(i + j) % 4], gzip_tar(f"own{i}-{j}", os.urandom(100_000))]
        for i in range(3)
        for j in range(4)
    }
    for ref, layers in images.items():
        oci_layout(tmp_path / "src" / ref.replace(":", "-"), layers)
    for i, layer in enumerate(shared):
        oci_layout(tmp_path / "src" / f"old{i}", [layer])
    with start_registry(root) as server:
        # garbage: images pushed long ago whose tags were then moved elsewhere
        for i in range(4):
            dest = f"docker://{server.host}/old:v{i % 2}"
            _skopeo(
                "copy",
                "-q",
                "--preserve-digests",
                "--dest-tls-verify=false",
                f"oci:{tmp_path}/src/old{i}:t",
                dest,
            )
        registry = backend.open_registry(root, cache=False)
        backdate(registry)
        registry.close()
        env = {**os.environ, **backend.serve_env(root, {})}  # the server's backend

        stop = threading.Event()
        reports: list[dict[str, object]] = []

        def collector() -> None:
            rounds = 0
            while not stop.is_set():
                # every other run deletes with several threads; the window is 10 s (in hours)
                workers = "4" if rounds % 2 else "1"
                rounds += 1
                out = subprocess.run(
                    [*GC, str(root), "--time-window", str(10 / 3600), "--workers", workers,
                     "--delete-untagged", "--format", "json"],
                    capture_output=True,
                    text=True,
                    timeout=120,
                    env=env,
                )  # fmt: skip
                assert out.returncode == 0, out.stderr
                reports.append(json.loads(out.stdout))

        def push(ref: str) -> None:
            src = f"oci:{tmp_path}/src/{ref.replace(':', '-')}:t"
            _skopeo(
                "copy",
                "-q",
                "--preserve-digests",
                "--dest-tls-verify=false",
                src,
                f"docker://{server.host}/{ref}",
            )

        gc_thread = threading.Thread(target=collector)
        gc_thread.start()
        try:
            with ThreadPoolExecutor(3) as pool:
                list(pool.map(push, images))
        finally:
            stop.set()
            gc_thread.join()
        deleted = {d for r in reports for d in r["blobs"]}  # type: ignore[attr-defined]
        assert deleted, f"the collector deleted nothing in {len(reports)} runs"
        # one more collection with no grace at all: tagged images keep everything
        run_command([*GC, str(root), "--grace", "0", "--delete-untagged"], env=env)
        (tmp_path / "pulled").mkdir()
        for ref, layers in images.items():
            out = tmp_path / "pulled" / ref.replace(":", "-")
            _skopeo(
                "copy",
                "-q",
                "--src-tls-verify=false",
                f"docker://{server.host}/{ref}",
                f"oci:{out}:t",
            )
            for layer in layers:
                stored = out / "blobs" / "sha256" / hashlib.sha256(layer).hexdigest()
                assert stored.read_bytes() == layer, ref
