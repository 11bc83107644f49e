"""Small helpers shared by the client tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

from _infra import run_dockyard

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
