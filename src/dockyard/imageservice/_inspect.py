"""``inspect`` and ``history`` in docker's shapes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockyard.image.blob import BlobImage, open_any
from dockyard.image.store import StoreSource
from dockyard.imageservice._summary import ImageSummary
from dockyard.local import LocalStore

__all__ = ["HistoryRow", "history", "inspect_image"]


def _go_time(summary: ImageSummary) -> str:
    if summary.config is not None and summary.config.created:
        return summary.config.created
    if summary.created is not None:
        return summary.created.isoformat().replace("+00:00", "Z")
    return "0001-01-01T00:00:00Z"


def inspect_image(store: LocalStore, summary: ImageSummary) -> dict[str, Any]:
    """The object ``docker image inspect`` prints for one image."""
    data = summary.config.data if summary.config is not None else {}
    last_tag = summary.last_used or summary.record_created
    return {
        "Id": str(summary.id),
        "RepoTags": [t.familiar for t in summary.tags],
        "RepoDigests": [d.familiar for d in summary.digests],
        "Parent": str(summary.parent) if summary.parent else "",
        "Comment": _comment(summary),
        "Created": _go_time(summary),
        "Container": data.get("container", ""),
        "ContainerConfig": data.get("container_config") or {},
        "DockerVersion": data.get("docker_version", ""),
        "Author": data.get("author", ""),
        "Config": data.get("config") or {},
        "Architecture": data.get("architecture", ""),
        **({"Variant": data["variant"]} if data.get("variant") else {}),
        "Os": data.get("os", ""),
        "Size": summary.size,
        "VirtualSize": summary.size,
        "GraphDriver": {"Data": {"Root": str(store.root)}, "Name": "dockyard"},
        "RootFS": {
            "Type": (data.get("rootfs") or {}).get("type", "layers"),
            "Layers": [str(d) for d in summary.diff_ids],
        },
        "Metadata": {
            "LastTagTime": last_tag.isoformat().replace("+00:00", "Z") if last_tag else ""
        },
        "Descriptor": summary.descriptor.to_json(),
    }


def _comment(summary: ImageSummary) -> str:
    if summary.config is None:
        return ""
    history = summary.config.history
    return history[-1].comment or "" if history else ""


@dataclass
class HistoryRow:
    """One row of ``docker history``: a history entry with its layer's size."""

    image: str  # the image ID for the top row, "<missing>" below, like docker
    created: str | None
    created_by: str
    size: int
    comment: str
    empty_layer: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "ID": self.image,
            "CreatedAt": self.created or "",
            "CreatedBy": self.created_by,
            "Size": self.size,
            "Comment": self.comment,
        }


def history(store: LocalStore, summary: ImageSummary) -> list[HistoryRow]:
    """Newest first, as docker prints it."""
    if summary.config is None:
        return []

    root = open_any(StoreSource(store), summary.descriptor)
    layer_sizes: list[int] = []
    if isinstance(root, BlobImage):
        layer_sizes = [layer.size for layer in root.manifest().layers]
    rows: list[HistoryRow] = []
    sizes = iter(layer_sizes)
    entries = summary.config.history
    if not entries:  # images without history: one row per layer
        entries_rows = [HistoryRow("<missing>", None, "", size, "", False) for size in layer_sizes]
        rows = entries_rows
    for entry in entries:
        size = 0 if entry.empty_layer else next(sizes, 0)
        rows.append(
            HistoryRow(
                "<missing>",
                entry.created,
                entry.created_by or "",
                size,
                entry.comment or "",
                entry.empty_layer,
            )
        )
    rows.reverse()
    if rows:
        rows[0].image = str(summary.id)
    return rows
