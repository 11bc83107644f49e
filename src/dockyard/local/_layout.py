"""The store root as an OCI image layout: ``oci-layout``, ``index.json``, ``blobs/``."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path

from dockyard.atomicfile import write_atomic
from dockyard.errors import FailedPrecondition
from dockyard.metadata import TagRecord
from dockyard.oci import Index

__all__ = [
    "INDEX_FILE",
    "LAYOUT_FILE",
    "LAYOUT_VERSION",
    "REF_NAME",
    "ensure_layout",
    "write_index",
]

LAYOUT_FILE = "oci-layout"
INDEX_FILE = "index.json"
LAYOUT_VERSION = "1.0.0"
#: The annotation that names an index.json entry (skopeo's and umoci's ``oci:DIR:NAME``).
REF_NAME = "org.opencontainers.image.ref.name"


def _write_atomic(path: Path, data: bytes) -> None:
    write_atomic(path, data)


def ensure_layout(root: Path) -> None:
    """Create the layout files when missing; refuse a layout of another version."""
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    layout = root / LAYOUT_FILE
    if layout.exists():
        try:
            version = json.loads(layout.read_bytes()).get("imageLayoutVersion")
        except (ValueError, AttributeError):
            version = None
        if version != LAYOUT_VERSION:
            raise FailedPrecondition(
                f"{layout} does not declare imageLayoutVersion {LAYOUT_VERSION} (found "
                f"{version!r}); point dockyard at an empty directory or a dockyard store"
            )
    else:
        _write_atomic(layout, json.dumps({"imageLayoutVersion": LAYOUT_VERSION}).encode())
    if not (root / INDEX_FILE).exists():
        write_index(root, [])


def write_index(root: Path, tags: Iterable[TagRecord]) -> None:
    """Rewrite index.json with one entry per tag (call with the store lock held)."""
    manifests = [
        dataclasses.replace(
            tag.target, annotations={**(tag.target.annotations or {}), REF_NAME: str(tag.ref)}
        )
        for tag in tags
    ]
    _write_atomic(root / INDEX_FILE, Index.build(manifests).raw)
