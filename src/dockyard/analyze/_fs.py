"""The image's filesystem as its layers build it up (OCI whiteouts, opaque directories), and
what each layer added, changed and removed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from dockyard.analyze._tarscan import TarEntry

__all__ = ["FsNode", "LayerChanges", "Removal", "apply_layer", "new_root", "walk"]

_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"


class FsNode:
    """A path in the merged filesystem: its tar entry (None: an implied directory), the layer
    that last wrote it, and its children when it is a directory."""

    __slots__ = ("children", "entry", "layer")

    def __init__(self, entry: TarEntry | None, layer: int) -> None:
        self.entry = entry
        self.layer = layer
        self.children: dict[str, FsNode] | None = {} if entry is None or entry.is_dir else None

    @property
    def size(self) -> int:
        return self.entry.size if self.entry is not None else 0


@dataclass(frozen=True)
class Removal:
    """A path a layer deleted (a whiteout), with what was under it."""

    path: str
    added_in: int  # the layer that wrote it (for a directory: most of the bytes under it)
    files: int
    size: int


@dataclass
class LayerChanges:
    """Counts of files (not directories) a layer added, changed and removed, with bytes."""

    added_files: int = 0
    added_bytes: int = 0
    changed_files: int = 0
    changed_bytes: int = 0
    removed_files: int = 0
    removed_bytes: int = 0
    added_dirs: int = 0
    removals: list[Removal] = field(default_factory=list)


def new_root() -> FsNode:
    return FsNode(None, -1)


def _files_under(node: FsNode) -> tuple[int, int, int]:
    """Files and bytes under ``node``, and the layer that wrote most of those bytes (for a
    directory, rather than the layer that last wrote the directory entry itself)."""
    if node.children is None:
        return 1, node.size, node.layer
    files = size = 0
    by_layer: dict[int, int] = {}
    stack = list(node.children.values())
    while stack:
        current = stack.pop()
        if current.children is None:
            files += 1
            size += current.size
            by_layer[current.layer] = by_layer.get(current.layer, 0) + current.size
        else:
            stack.extend(current.children.values())
    if not by_layer:
        return files, size, node.layer
    return files, size, max(sorted(by_layer), key=lambda layer: by_layer[layer])


def _lookup(root: FsNode, parts: Sequence[str]) -> FsNode | None:
    node = root
    for name in parts:
        if node.children is None:
            return None
        found = node.children.get(name)
        if found is None:
            return None
        node = found
    return node


def _parent(root: FsNode, parts: Sequence[str], layer: int) -> FsNode:
    node = root
    for name in parts:
        assert node.children is not None
        child = node.children.get(name)
        if child is None or child.children is None:  # missing, or a file in the way
            child = node.children[name] = FsNode(None, layer)
        node = child
    return node


def _remove(
    changes: LayerChanges, parent: FsNode, name: str, path: str, whole: bool = True
) -> None:
    assert parent.children is not None
    node = parent.children.get(name)
    if node is None:
        return
    files, size, added_in = _files_under(node)
    changes.removed_files += files
    changes.removed_bytes += size
    changes.removals.append(Removal(path, added_in, files, size))
    if whole:
        del parent.children[name]


def apply_layer(root: FsNode, entries: Sequence[TarEntry], layer: int) -> LayerChanges:
    """Apply one layer's entries to ``root`` (in place); what the layer did."""
    changes = LayerChanges()
    # whiteouts act on the layers below only, so they go first
    for entry in entries:
        dirname, _, base = entry.path.rpartition("/")
        if not base.startswith(_WHITEOUT):
            continue
        parts = dirname.split("/") if dirname else []
        parent = _lookup(root, parts)
        if parent is None or parent.children is None:
            continue
        if base == _OPAQUE:
            for name in list(parent.children):
                _remove(changes, parent, name, f"{dirname}/{name}" if dirname else name)
        else:
            target = base[len(_WHITEOUT) :]
            _remove(changes, parent, target, f"{dirname}/{target}" if dirname else target)
    for entry in entries:
        dirname, _, base = entry.path.rpartition("/")
        if base.startswith(_WHITEOUT):
            continue
        parent = _parent(root, dirname.split("/") if dirname else [], layer)
        assert parent.children is not None
        existing = parent.children.get(base)
        node = FsNode(entry, layer)
        if existing is None:
            if entry.is_dir:
                changes.added_dirs += 1
            else:
                changes.added_files += 1
                changes.added_bytes += entry.size
        elif existing.children is not None and node.children is not None:
            node.children = existing.children  # a directory's metadata changed: keep its contents
        elif existing.layer != layer:
            if existing.children is not None:  # a directory replaced by a file
                _remove(changes, parent, base, entry.path, whole=False)
                changes.added_files += 1
                changes.added_bytes += entry.size
            elif not entry.is_dir:
                changes.changed_files += 1
                changes.changed_bytes += entry.size
            else:
                changes.removed_files += 1
                changes.removed_bytes += existing.size
                changes.added_dirs += 1
        parent.children[base] = node
    return changes


def walk(root: FsNode) -> Iterator[tuple[str, FsNode]]:
    """Every path below ``root`` ("usr/bin/env"), parents before children, sorted by name."""
    stack: list[tuple[str, FsNode]] = [("", root)]
    while stack:
        prefix, node = stack.pop()
        if prefix:
            yield prefix, node
        if node.children:
            for name in sorted(node.children, reverse=True):
                stack.append((f"{prefix}/{name}" if prefix else name, node.children[name]))
