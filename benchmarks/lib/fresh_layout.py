"""Copy an OCI layout so that every layer blob is new: a push of the copy can reuse nothing.

Usage: python fresh_layout.py SRC DST   (SRC: a one-image layout, as _make_layout.py writes)

Each gzip layer gets a small gzip member of random bytes appended (a multi-member gzip stream
is still one valid gzip stream), so its digest is new while its size stays within a few bytes:
a push of DST measures uploading every byte, in the time it takes to hash 200 MB rather than
to compress 200 MB of random data again. The config keeps the source's diff_ids; registries
and ``skopeo copy --preserve-digests`` do not decompress layers, so nothing reads them.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any


def _put(blobs: Path, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def main(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    blobs = dst / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    shutil.copy(src / "oci-layout", dst / "oci-layout")
    index = json.loads((src / "index.json").read_text())
    entry = index["manifests"][0]
    source_blobs = src / "blobs" / "sha256"
    manifest = json.loads((source_blobs / entry["digest"].split(":", 1)[1]).read_bytes())
    config_hex = manifest["config"]["digest"].split(":", 1)[1]
    shutil.copy(source_blobs / config_hex, blobs / config_hex)
    for layer in manifest["layers"]:
        data = (source_blobs / layer["digest"].split(":", 1)[1]).read_bytes()
        layer.update(_put(blobs, data + gzip.compress(os.urandom(32), mtime=0)))
    entry.update(_put(blobs, json.dumps(manifest).encode()))
    (dst / "index.json").write_text(json.dumps(index))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
