"""Small OCI image layouts on disk, for pushing with skopeo or podman."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

__all__ = ["LAYER", "gzip_tar", "oci_layout"]

LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


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
