"""Small helpers shared by the client tests."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path

from _infra import run_dockyard
from dockyard.digest import digest_of
from dockyard.oci import Descriptor, Index, Manifest, Platform, mediatypes

USER, PASSWORD = "alice", "s3cret-pass"


def make_image(root: Path, ref: str, *, files: int = 3, size: int = 50_000) -> str:
    """Import a small rootfs into the store at ``root`` as ``ref``; returns its image ID."""
    rootfs = root.parent / f"rootfs-{abs(hash(ref))}"
    (rootfs / "data").mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (rootfs / "data" / f"f{i}").write_bytes(os.urandom(size))
    out = run_dockyard("import", rootfs, ref, root=root)
    return str(out.stdout.strip())


def manifest_digest(path: Path, name: str | None = None) -> str:
    """The digest index.json of an OCI layout names (the only entry, or the one named)."""
    index = json.loads((path / "index.json").read_text())
    for entry in index["manifests"]:
        if (
            name is None
            or entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == name
        ):
            return str(entry["digest"])
    raise AssertionError(f"{name} not in {path}")


def _write_blob(root: Path, data: bytes) -> str:
    digest = digest_of(data)
    path = root / "blobs" / digest.algorithm / digest.hex
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(digest)


def _layer(text: str) -> tuple[bytes, str]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = text.encode()
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0), str(digest_of(raw))


def make_multiarch_layout(root: Path) -> str:
    """An OCI layout whose index ``multi`` names an amd64 and an arm64 image."""
    (root / "blobs").mkdir(parents=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    children = []
    for arch in ("amd64", "arm64"):
        layer, diff_id = _layer(f"hello from {arch}\n")
        config = json.dumps(
            {
                "architecture": arch,
                "os": "linux",
                "config": {"Cmd": ["/hello"]},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            }
        ).encode()
        _write_blob(root, layer)
        _write_blob(root, config)
        manifest = Manifest.build(
            Descriptor.of(config, mediatypes.OCI_CONFIG),
            [Descriptor.of(layer, mediatypes.OCI_LAYER_GZIP)],
        )
        _write_blob(root, manifest.raw)
        children.append(manifest.descriptor(platform=Platform("linux", arch)))
    index = Index.build(children)
    _write_blob(root, index.raw)
    top = Index.build(
        [
            Descriptor(
                media_type=index.media_type,
                digest=index.digest,
                size=index.size,
                annotations={"org.opencontainers.image.ref.name": "multi"},
            )
        ]
    )
    (root / "index.json").write_bytes(top.raw)
    return str(index.digest)
