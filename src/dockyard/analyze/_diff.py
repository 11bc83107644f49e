"""``dockyard diff``: how two images differ, in their configs and in their filesystems."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockyard.analyze._fs import FsNode, apply_layer, new_root, walk
from dockyard.analyze._source import read_layers
from dockyard.analyze._tarscan import TarEntry
from dockyard.image import Image

__all__ = ["ConfigChange", "FileChange", "ImageDiff", "diff_configs", "diff_images"]


@dataclass(frozen=True)
class ConfigChange:
    key: str  # dotted: "config.Env.PATH", "config.Labels.version", "architecture"
    old: Any
    new: Any

    @property
    def status(self) -> str:
        if self.old is None:
            return "added"
        return "removed" if self.new is None else "changed"

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "status": self.status, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class FileChange:
    path: str  # "/usr/bin/env"
    status: str  # "added", "removed", "changed"
    kind: str  # "file", "dir", "symlink", "hardlink", "other"
    old_size: int | None
    new_size: int | None
    what: str  # for "changed": "content", "size", "mode", "owner", "type", "target"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "kind": self.kind,
            "oldSize": self.old_size,
            "newSize": self.new_size,
            "what": self.what,
        }


@dataclass
class ImageDiff:
    image1: str
    image2: str
    layers1: int
    layers2: int
    shared_layers: int
    config: list[ConfigChange]
    files: list[FileChange]

    def totals(self) -> dict[str, dict[str, int]]:
        out = {s: {"count": 0, "bytes": 0} for s in ("added", "removed", "changed")}
        for change in self.files:
            slot = out[change.status]
            slot["count"] += 1
            if change.status == "removed":
                slot["bytes"] += change.old_size or 0
            else:
                slot["bytes"] += change.new_size or 0
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "image1": self.image1,
            "image2": self.image2,
            "layers": {
                "image1": self.layers1,
                "image2": self.layers2,
                "shared": self.shared_layers,
            },
            "config": [c.to_json() for c in self.config],
            "files": [f.to_json() for f in self.files],
            "totals": self.totals(),
        }


_SKIP = {"history", "rootfs"}


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if prefix and isinstance(value, dict) and value and all(v == {} for v in value.values()):
        # a set written as a map of empty objects (ExposedPorts, Volumes): its sorted keys
        out[prefix] = sorted(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not prefix and key in _SKIP:
                continue
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and prefix.endswith(".Env"):
        for item in value:
            name, _, val = str(item).partition("=")
            out[f"{prefix}.{name}"] = val
    else:
        out[prefix] = value


def diff_configs(old: dict[str, Any], new: dict[str, Any]) -> list[ConfigChange]:
    """Changed keys between two image configs (history and rootfs left out: see layers)."""
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    _flatten(old, "", a)
    _flatten(new, "", b)
    changes = []
    for key in sorted(a.keys() | b.keys()):
        if a.get(key) != b.get(key):
            changes.append(ConfigChange(key, a.get(key), b.get(key)))
    return changes


def _kind(entry: TarEntry | None) -> str:
    if entry is None or entry.is_dir:
        return "dir"
    return {"0": "file", "1": "hardlink", "2": "symlink"}.get(entry.kind, "other")


def _what(a: TarEntry | None, b: TarEntry | None) -> str | None:
    if a is b:
        return None
    if a is None or b is None:
        return None if (a is None and b is None) or _kind(a) == _kind(b) == "dir" else "type"
    if _kind(a) != _kind(b):
        return "type"
    if a.linkname != b.linkname:
        return "target"
    if not a.is_dir and a.size != b.size:
        return "size"
    if not a.is_dir and a.digest != b.digest:
        return "content"
    if a.mode != b.mode:
        return "mode"
    if (a.uid, a.gid) != (b.uid, b.gid):
        return "owner"
    return None


def _files(root: FsNode) -> dict[str, FsNode]:
    return dict(walk(root))


def _build(entries: list[list[TarEntry]]) -> FsNode:
    root = new_root()
    for index, layer_entries in enumerate(entries):
        apply_layer(root, layer_entries, index)
    return root


def diff_images(image1: Image, image2: Image, name1: str = "", name2: str = "") -> ImageDiff:
    """Config and file differences from ``image1`` to ``image2`` (file contents by sha256)."""
    layers1, layers2 = image1.layers(), image2.layers()
    shared = 0
    for l1, l2 in zip(layers1, layers2, strict=False):
        if l1.diff_id != l2.diff_id:
            break
        shared += 1
    read1 = read_layers(layers1, digests=True)
    read2 = read1[:shared] + read_layers(layers2[shared:], digests=True)
    files1, files2 = _files(_build(read1)), _files(_build(read2))
    changes: list[FileChange] = []
    for path in sorted(files1.keys() | files2.keys()):
        n1, n2 = files1.get(path), files2.get(path)
        if n1 is None and n2 is not None:
            changes.append(FileChange(f"/{path}", "added", _kind(n2.entry), None, n2.size, ""))
        elif n2 is None and n1 is not None:
            changes.append(FileChange(f"/{path}", "removed", _kind(n1.entry), n1.size, None, ""))
        elif n1 is not None and n2 is not None:
            what = _what(n1.entry, n2.entry)
            if what is not None:
                changes.append(
                    FileChange(f"/{path}", "changed", _kind(n2.entry), n1.size, n2.size, what)
                )
    return ImageDiff(
        image1=name1 or str(image1.descriptor().digest),
        image2=name2 or str(image2.descriptor().digest),
        layers1=len(layers1),
        layers2=len(layers2),
        shared_layers=shared,
        config=diff_configs(image1.config().data, image2.config().data),
        files=changes,
    )
