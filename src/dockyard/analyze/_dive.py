"""Image efficiency and wasted bytes, computed exactly as dive (wagoodman/dive) computes them.

dive builds one file tree per layer and visits every leaf of every tree, grouping leaves by path:

* a path's *cumulative* size is the sum of the sizes of all its leaves; its *minimum* the
  smallest of them;
* a whiteout leaf (``.wh.name``) counts the size of everything under ``name`` in the layers
  below when that was a directory, and 0 when it was a file;
* efficiency = Σ minimum / Σ cumulative over all paths (1.0 for an empty image);
* a path seen in two or more leaves is *inefficient*; wasted bytes = Σ of their cumulative
  sizes (so a 10 MB file written once and deleted later wastes 10 MB).

dive's corners are kept on purpose so that the numbers match it: a whiteout whose target cannot
be found below stops the visit of the rest of that layer; a tree's implicit parent directories
(no tar entry of their own) are not directories; layer 0 is stacked on itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dockyard.analyze._tarscan import TarEntry

__all__ = ["DiveNode", "Inefficiency", "build_tree", "efficiency"]

_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh.."


class DiveNode:
    """A file tree node: the size and directory bit of its tar entry, and its children."""

    __slots__ = ("children", "is_dir", "size")

    def __init__(self, size: int = 0, is_dir: bool = False) -> None:
        self.size = size
        self.is_dir = is_dir
        self.children: dict[str, DiveNode] = {}

    def copy(self) -> DiveNode:
        clone = DiveNode(self.size, self.is_dir)
        clone.children = {name: child.copy() for name, child in self.children.items()}
        return clone


def _add_path(root: DiveNode, parts: Sequence[str], size: int, is_dir: bool) -> None:
    node = root
    for name in parts:
        child = node.children.get(name)
        if child is None:
            if name.startswith(_OPAQUE):  # never a node of its own
                return
            child = node.children[name] = DiveNode()
        node = child
    node.size = size
    node.is_dir = is_dir


def build_tree(entries: Iterable[TarEntry]) -> DiveNode:
    """One layer's tree; later entries for a path replace earlier ones, as in dive."""
    root = DiveNode()
    for entry in entries:
        _add_path(root, entry.path.split("/"), entry.size, entry.is_dir)
    return root


def _get(root: DiveNode, parts: Sequence[str]) -> DiveNode | None:
    node = root
    for name in parts:
        if not name:
            continue
        found = node.children.get(name)
        if found is None:
            return None
        node = found
    return node


def _subtree_size(node: DiveNode) -> int:
    total = node.size
    stack = list(node.children.values())
    while stack:
        current = stack.pop()
        total += current.size
        stack.extend(current.children.values())
    return total


def _stack(lower: DiveNode, upper: DiveNode) -> None:
    """dive's FileTree.Stack: every node of ``upper`` replaces the payload below; whiteouts
    remove their target."""

    def visit(node: DiveNode, parts: list[str]) -> None:
        for name in sorted(node.children):
            child = node.children[name]
            visit(child, [*parts, name])
            if name.startswith(_WHITEOUT):
                parent = _get(lower, parts)
                if parent is not None:
                    parent.children.pop(name[len(_WHITEOUT) :], None)
            else:
                _add_path(lower, [*parts, name], child.size, child.is_dir)

    visit(upper, [])


@dataclass
class Inefficiency:
    """A path that more than one layer touched."""

    path: str
    count: int
    cumulative_size: int


@dataclass
class _PathData:
    cumulative: int = 0
    minimum: int = -1
    count: int = 0


class _Abort(Exception):
    """A whiteout with nothing below it: dive stops visiting the rest of the layer."""


def efficiency(trees: Sequence[DiveNode]) -> tuple[float, list[Inefficiency]]:
    """dive's efficiency score and its inefficient paths, largest first."""
    paths: dict[str, _PathData] = {}
    matches: list[tuple[str, _PathData]] = []
    stacked: DiveNode | None = None
    stacked_upto = -1  # stacked holds trees[0] stacked with trees[0..stacked_upto]

    def below(index: int) -> DiveNode:
        nonlocal stacked, stacked_upto
        if index == 0:
            return trees[0]
        if stacked is None:
            stacked = trees[0].copy()
        while stacked_upto < index - 1:
            stacked_upto += 1
            _stack(stacked, trees[stacked_upto])
        return stacked

    def leaf(index: int, prefix: str, node: DiveNode, name: str) -> None:
        whiteout = name.startswith(_WHITEOUT)
        path = f"{prefix}/{name[len(_WHITEOUT) :] if whiteout else name}"
        data = paths.get(path)
        if data is None:
            data = paths[path] = _PathData()
        if whiteout:
            previous = _get(below(index), path.split("/"))
            if previous is None:
                raise _Abort
            size = _subtree_size(previous) if previous.is_dir else 0
        else:
            size = node.size
        data.cumulative += size
        if data.minimum < 0 or size < data.minimum:
            data.minimum = size
        data.count += 1
        if data.count == 2:
            matches.append((path, data))

    def visit(index: int, node: DiveNode, prefix: str) -> None:
        children = node.children
        for name in sorted(children):
            child = children[name]
            if child.children:
                visit(index, child, f"{prefix}/{name}")
            else:
                leaf(index, prefix, child, name)

    for index, tree in enumerate(trees):
        with contextlib.suppress(_Abort):
            visit(index, tree, "")

    minimum = sum(d.minimum for d in paths.values())
    discovered = sum(d.cumulative for d in paths.values())
    score = 1.0 if discovered == 0 else minimum / discovered
    found = [Inefficiency(path, d.count, d.cumulative) for path, d in matches]
    found.sort(key=lambda i: (-i.cumulative_size, i.path))
    return score, found
