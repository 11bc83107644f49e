"""`dockyard registry gc` in a loop against a live server's data dir while skopeo pushes."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from registry_helpers import start_registry
from test_registry_gc import backdate

from _infra import dockyard_executable, run_command
from dockyard.registry import Registry

LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
GC = [dockyard_executable(), "registry", "gc", "--root"]


def oci_layout(root: Path, layers: list[bytes], tag: str = "t", arch: str = "amd64") -> str:
    """A one-image OCI layout (layers stored as given); the manifest's digest."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> dict[str, object]:
        hexdigest = hashlib.sha256(data).hexdigest()
        (blobs / hexdigest).write_bytes(data)
        return {"digest": f"sha256:{hexdigest}", "size": len(data)}

    diff_ids = [f"sha256:{hashlib.sha256(gzip.decompress(x)).hexdigest()}" for x in layers]
    config = json.dumps(
        {"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **put(config)},
            "layers": [{"mediaType": LAYER, **put(layer)} for layer in layers],
        }
    ).encode()
    entry = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        **put(manifest),
        "annotations": {"org.opencontainers.image.ref.name": tag},
    }
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return str(entry["digest"])


def gzip_tar(name: str, payload: bytes) -> bytes:
    """A gzipped one-file tar (skopeo would compress a plain tar, changing its digest)."""

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return gzip.compress(buf.getvalue(), compresslevel=1, mtime=0)


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
        registry = Registry.open(root, cache=False)
        backdate(registry)
        registry.close()

        stop = threading.Event()
        reports: list[dict[str, object]] = []

        def collector() -> None:
            while not stop.is_set():
                out = subprocess.run(
                    [*GC, str(root), "--grace", "10", "--delete-untagged", "--format", "json"],
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
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
        run_command([*GC, str(root), "--grace", "0", "--delete-untagged"])
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
