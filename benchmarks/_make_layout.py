"""Write the benchmarks' test image: an OCI layout of 10 gzip layers of 20 MB random data.

Usage: python benchmarks/_make_layout.py DIR [BLOB_FILE]   (BLOB_FILE: also 100 MiB of random data)
"""

import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
from pathlib import Path

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def main(root: Path, blob: Path | None) -> None:
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    layers, diff_ids = [], []
    for i in range(10):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            payload = os.urandom(20_000_000)
            info = tarfile.TarInfo(f"layer{i}.bin")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        raw = buf.getvalue()
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        compressed = gzip.compress(raw, compresslevel=1, mtime=0)
        layers.append(
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **put(compressed)}
        )
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            **put(json.dumps(config).encode()),
        },
        "layers": layers,
    }
    entry = {
        "mediaType": MANIFEST,
        **put(json.dumps(manifest).encode()),
        "annotations": {"org.opencontainers.image.ref.name": "bench"},
    }
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    if blob is not None:
        blob.write_bytes(os.urandom(100 << 20))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None)
