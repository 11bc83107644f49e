"""Write one synthetic registry store twice: in dockyard's layout (``registry.db`` + ``blobs/``)
and in distribution's filesystem layout (``docker/registry/v2/…``), for the GC benchmark.

Usage: python _make_gc_store.py DOCKYARD_ROOT DISTRIBUTION_ROOT [MANIFESTS] [BLOBS_PER] [PATHS]

MANIFESTS OCI image manifests (default 10,000) in MANIFESTS/100 repositories ``bench/r000…``,
each with a config and BLOBS_PER-1 layers of its own (default 10 blobs: 100,000 in all, 60-300
bytes each). Even-numbered manifests are tagged (``t<n>``), odd ones are untagged, so a
collection with delete-untagged reclaims half of the manifests and half of the blobs. Everything
is dated two days ago. The records are written with bulk inserts, the files directly. PATHS:
a file to list pull requests in (``/v2/…`` paths of the tagged manifests and their blobs, one a
line), for the benchmark's wrk script.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

from sqlalchemy import insert

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
PER_REPO = 100


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _image(n: int, per: int) -> tuple[bytes, list[bytes], bytes]:
    config = json.dumps({"architecture": "amd64", "os": "linux", "n": n}).encode()
    layers = [
        hashlib.sha512(f"{n}/{i}".encode()).digest() * (1 + (n + i) % 4) for i in range(per - 1)
    ]
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": _digest(config), "size": len(config)},
            "layers": [
                {"mediaType": OCI_LAYER, "digest": _digest(layer), "size": len(layer)}
                for layer in layers
            ],
        },
        separators=(",", ":"),
    ).encode()
    return config, layers, manifest


def main(dy_root: Path, dist_root: Path, count: int, per: int, paths: Path | None) -> None:
    from dockyard.registry import Registry
    from dockyard.registry.metadata._schema import (
        blobs,
        manifest_refs,
        manifests,
        repo_blobs,
        repositories,
        tags,
    )

    began = time.monotonic()
    when = time.time() - 2 * 86400
    registry = Registry.open(dy_root)
    v2 = dist_root / "docker" / "registry" / "v2"
    repos = [f"bench/r{i:03d}" for i in range((count + PER_REPO - 1) // PER_REPO)]
    blob_rows: list[dict[str, object]] = []
    link_rows: list[dict[str, object]] = []
    manifest_rows: list[dict[str, object]] = []
    refs: list[tuple[int, str]] = []
    tag_rows: list[dict[str, object]] = []
    pulls: list[str] = []
    for n in range(count):
        repo_id = n // PER_REPO + 1
        repo = repos[repo_id - 1]
        config, layers, manifest = _image(n, per)
        for blob in (config, *layers):
            digest = _digest(blob)
            hexa = digest[7:]
            _write(dy_root / "blobs" / "sha256" / hexa[:2] / hexa, blob)
            _write(v2 / "blobs" / "sha256" / hexa[:2] / hexa / "data", blob)
            _write(
                v2 / "repositories" / repo / "_layers" / "sha256" / hexa / "link", digest.encode()
            )
            blob_rows.append({"digest": digest, "size": len(blob), "created_at": when})
            link_rows.append({"repo_id": repo_id, "digest": digest, "created_at": when})
            refs.append((n + 1, digest))
        digest = _digest(manifest)
        hexa = digest[7:]
        _write(v2 / "blobs" / "sha256" / hexa[:2] / hexa / "data", manifest)
        revisions = v2 / "repositories" / repo / "_manifests" / "revisions" / "sha256"
        _write(revisions / hexa / "link", digest.encode())
        manifest_rows.append(
            {
                "id": n + 1,
                "repo_id": repo_id,
                "digest": digest,
                "media_type": OCI_MANIFEST,
                "size": len(manifest),
                "content": manifest,
                "artifact_type": OCI_CONFIG,
                "subject": None,
                "annotations": None,
                "created_at": when,
            }
        )
        if n % 2 == 0:
            tag = f"t{n}"
            tag_dir = v2 / "repositories" / repo / "_manifests" / "tags" / tag
            _write(tag_dir / "current" / "link", digest.encode())
            _write(tag_dir / "index" / "sha256" / hexa / "link", digest.encode())
            tag_rows.append(
                {"repo_id": repo_id, "name": tag, "manifest_id": n + 1, "updated_at": when}
            )
            pulls.append(f"/v2/{repo}/manifests/{tag}")
            pulls += [f"/v2/{repo}/blobs/{_digest(b)}" for b in (config, layers[0])]
        if n % 1000 == 999:
            print(f"{n + 1} manifests written", file=sys.stderr)
    with registry.meta.db.write() as conn:
        conn.execute(
            insert(repositories),
            [{"id": i + 1, "name": name, "created_at": when} for i, name in enumerate(repos)],
        )
        conn.execute(insert(blobs), blob_rows)
        conn.execute(insert(repo_blobs), link_rows)
        conn.execute(insert(manifests), manifest_rows)
        conn.execute(
            insert(manifest_refs),
            [{"manifest_id": m, "digest": d, "kind": "blob"} for m, d in refs],
        )
        conn.execute(insert(tags), tag_rows)
    registry.close()
    if paths is not None:
        paths.write_text("".join(f"{p}\n" for p in pulls))
    old = (when, when)
    for top, _, files in os.walk(dy_root / "blobs"):
        for name in files:
            os.utime(os.path.join(top, name), old)
    print(
        f"{count} manifests ({len(tag_rows)} tagged), {len(blob_rows)} blobs in "
        f"{len(repos)} repositories, both layouts, in {time.monotonic() - began:.0f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) not in (2, 3, 4, 5):
        sys.exit(__doc__)
    main(
        Path(args[0]),
        Path(args[1]),
        int(args[2]) if len(args) > 2 else 10_000,
        int(args[3]) if len(args) > 3 else 10,
        Path(args[4]) if len(args) > 4 else None,
    )
