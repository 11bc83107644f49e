"""Reading a multi-platform build's OCI archive: the index, and each child's file tree."""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.layers import apply_layer

__all__ = ["ArchiveIndex", "read_oci_archive"]


@dataclass
class ArchiveIndex:
    """The root of an OCI archive: the index (its digest and JSON) and each child's config."""

    digest: str
    index: dict[str, Any]
    configs: dict[str, dict[str, Any]]  # "os/arch[/variant]" → image config
    roots: dict[str, Path]  # "os/arch[/variant]" → the child's unpacked file tree


def _platform(entry: dict[str, Any]) -> str:
    p = entry["platform"]
    text = f"{p['os']}/{p['architecture']}"
    return f"{text}/{p['variant']}" if p.get("variant") else text


def read_oci_archive(archive: Path, dest: Path) -> ArchiveIndex:
    """Unpack every child of the index ``archive`` holds into ``dest/<os_arch>``."""
    with tarfile.open(archive) as tar:

        def blob(digest: str) -> bytes:
            member = tar.extractfile("blobs/" + digest.replace(":", "/"))
            assert member is not None, digest
            return member.read()

        layout = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
        (root,) = layout["manifests"]
        index = json.loads(blob(root["digest"]))
        configs: dict[str, dict[str, Any]] = {}
        roots: dict[str, Path] = {}
        for entry in index["manifests"]:
            name = _platform(entry)
            manifest = json.loads(blob(entry["digest"]))
            configs[name] = json.loads(blob(manifest["config"]["digest"]))
            target = dest / name.replace("/", "_")
            target.mkdir(parents=True)
            for layer in manifest["layers"]:
                member = tar.extractfile("blobs/" + layer["digest"].replace(":", "/"))
                assert member is not None
                apply_layer(member, target)  # type: ignore[arg-type]
            roots[name] = target
    return ArchiveIndex(root["digest"], index, configs, roots)
