"""``dockyard analyze``: per-layer sizes and changes, wasted space and dive's efficiency."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.analyze._dive import Inefficiency, build_tree, efficiency
from dockyard.analyze._fs import FsNode, LayerChanges, apply_layer, new_root
from dockyard.analyze._source import read_layers
from dockyard.analyze._tarscan import TarEntry
from dockyard.image import Image
from dockyard.image.blob import BlobImage
from dockyard.oci import HistoryEntry
from dockyard.progress import Progress

__all__ = ["Analysis", "LayerReport", "analyze_image", "layer_commands"]


@dataclass
class LayerReport:
    """One layer: its size (the sum of its tar entries' sizes, as dive counts it), the
    instruction that made it, and what it changed."""

    index: int
    digest: str
    diff_id: str
    blob_size: int
    size: int
    created_by: str
    entries: int
    changes: LayerChanges

    @property
    def command(self) -> str:
        return short_command(self.created_by)

    def to_json(self) -> dict[str, Any]:
        c = self.changes
        return {
            "index": self.index,
            "digest": self.digest,
            "diffId": self.diff_id,
            "blobSize": self.blob_size,
            "sizeBytes": self.size,
            "command": self.command,
            "createdBy": self.created_by,
            "entries": self.entries,
            "added": {"files": c.added_files, "bytes": c.added_bytes, "dirs": c.added_dirs},
            "changed": {"files": c.changed_files, "bytes": c.changed_bytes},
            "removed": {"files": c.removed_files, "bytes": c.removed_bytes},
        }


@dataclass
class Analysis:
    """What ``analyze`` found; ``efficiency``/``wasted_bytes``/``user_wasted_percent`` are
    dive's numbers."""

    image: str
    layers: list[LayerReport]
    size: int
    user_size: int
    efficiency: float
    wasted_bytes: int
    inefficiencies: list[Inefficiency]
    filesystem: FsNode = field(repr=False)
    layer_entries: list[list[TarEntry]] = field(repr=False)

    @property
    def user_wasted_percent(self) -> float:
        """Wasted bytes over the bytes of every layer but the first (a ratio, as dive's)."""
        if self.user_size == 0:
            return 0.0 if self.wasted_bytes == 0 else float("inf")
        return self.wasted_bytes / self.user_size

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "sizeBytes": self.size,
            "userSizeBytes": self.user_size,
            "efficiency": self.efficiency,
            "wastedBytes": self.wasted_bytes,
            "userWastedPercent": self.user_wasted_percent,
            "layers": [layer.to_json() for layer in self.layers],
            "inefficientFiles": [
                {"file": i.path, "count": i.count, "sizeBytes": i.cumulative_size}
                for i in self.inefficiencies
            ],
        }


def short_command(created_by: str) -> str:
    text = created_by.removeprefix("/bin/sh -c ").removeprefix("|")
    if text.startswith("#(nop) "):
        text = text[len("#(nop) ") :].strip()
    return text


def layer_commands(history: Sequence[HistoryEntry], count: int) -> list[str]:
    """The ``created_by`` of each layer: history entries that made a layer, in order
    ("(missing)" where history runs out, as dive says)."""
    made = [h for h in history if not h.empty_layer]
    return [(made[i].created_by or "") if i < len(made) else "(missing)" for i in range(count)]


def analyze_image(
    image: Image, name: str = "", *, verify: bool = False, progress: Progress | None = None
) -> Analysis:
    """Read every layer of ``image`` once (headers only) and measure it; ``verify`` re-hashes
    local-store blobs as they are read."""
    layers = image.layers()
    commands = layer_commands(image.config().history, len(layers))
    source = image.source if isinstance(image, BlobImage) else None
    entries = read_layers(layers, verify=verify, source=source, progress=progress)
    efficiency_score, inefficiencies = efficiency([build_tree(e) for e in entries])
    root = new_root()
    reports = []
    for index, (layer, layer_entries) in enumerate(zip(layers, entries, strict=True)):
        changes = apply_layer(root, layer_entries, index)
        reports.append(
            LayerReport(
                index=index,
                digest=str(layer.descriptor.digest),
                diff_id=str(layer.diff_id),
                blob_size=layer.descriptor.size,
                size=sum(e.size for e in layer_entries),
                created_by=commands[index],
                entries=len(layer_entries),
                changes=changes,
            )
        )
    size = sum(r.size for r in reports)
    return Analysis(
        image=name or str(image.descriptor().digest),
        layers=reports,
        size=size,
        user_size=size - (reports[0].size if reports else 0),
        efficiency=efficiency_score,
        wasted_bytes=sum(i.cumulative_size for i in inefficiencies),
        inefficiencies=inefficiencies,
        filesystem=root,
        layer_entries=entries,
    )
