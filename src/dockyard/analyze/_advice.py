"""Advice from what ``analyze`` found: caches left in layers, files deleted too late, build
tools in a final image, a big base where a slim one would do."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from dockyard.analyze._analysis import Analysis
from dockyard.analyze._fs import FsNode

__all__ = ["Advice", "advise"]

#: (what, path prefix, how to avoid it)
_CACHES: tuple[tuple[str, str, str], ...] = (
    ("apt package lists", "var/lib/apt/lists/",
     "end the RUN that calls apt-get with `&& rm -rf /var/lib/apt/lists/*`"),
    ("apt package archives", "var/cache/apt/archives/",
     "run `apt-get clean` in the same RUN, or use `--mount=type=cache,target=/var/cache/apt`"),
    ("apk cache", "var/cache/apk/", "use `apk add --no-cache`"),
    ("dnf/yum cache", "var/cache/dnf/", "run `dnf clean all` in the same RUN"),
    ("dnf/yum cache", "var/cache/yum/", "run `yum clean all` in the same RUN"),
    ("pip cache", "root/.cache/pip/",
     "use `pip install --no-cache-dir` (or a cache mount)"),
    ("npm cache", "root/.npm/", "run `npm cache clean --force` in the same RUN, or a cache mount"),
    ("yarn cache", "usr/local/share/.cache/yarn/", "run `yarn cache clean` in the same RUN"),
    ("yarn cache", "root/.cache/yarn/", "run `yarn cache clean` in the same RUN"),
    ("go build cache", "root/.cache/go-build/", "build in a separate stage and copy the binary"),
)  # fmt: skip
_HOME_CACHE = re.compile(r"^home/[^/]+/(\.cache/pip|\.npm|\.cache/yarn)/")
_IGNORED = ("var/lib/apt/lists/lock", "var/lib/apt/lists/partial/", "var/cache/apt/archives/lock",
            "var/cache/apt/archives/partial/")  # fmt: skip
_TOOL_DIRS = ("usr/bin", "usr/local/bin", "usr/local/go/bin", "root/.cargo/bin")
_TOOLS = re.compile(
    r"^(gcc|g\+\+|cc|c\+\+|clang|clang\+\+|make|cmake|ninja|rustc|cargo|go|javac|mvn|gradle"
    r"|(x86_64|aarch64)-linux-gnu-(gcc|g\+\+)(-\d+)?|gcc-\d+|g\+\+-\d+)$"
)
_DOCS = ("usr/share/doc/", "usr/share/man/", "usr/share/info/", "usr/share/locale/")
_BIG_BASE = 100_000_000
_MIN_WASTE = 1_000_000  # advice below this many bytes is noise


@dataclass
class Advice:
    """One finding: a stable ``code``, the layer it concerns, the bytes at stake, what to do."""

    code: str
    message: str
    layer: int | None = None
    size: int = 0
    paths: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "layer": self.layer,
            "sizeBytes": self.size,
            "paths": self.paths,
        }


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _cache_kind(path: str) -> tuple[str, str, str] | None:
    """(what, how to avoid it, the cache directory) for a file in a known cache."""
    if path.startswith(_IGNORED):
        return None
    for what, prefix, fix in _CACHES:
        if path.startswith(prefix):
            return what, fix, "/" + prefix.rstrip("/")
    match = _HOME_CACHE.match(path)
    if match:
        kind = match.group(1)
        what, fix = {
            ".cache/pip": ("pip cache", "use `pip install --no-cache-dir`"),
            ".npm": ("npm cache", "run `npm cache clean --force` in the same RUN"),
        }.get(kind, ("yarn cache", "run `yarn cache clean` in the same RUN"))
        return what, fix, "/" + match.group(0).rstrip("/")
    return None


def _get(root: FsNode, path: str) -> FsNode | None:
    node = root
    for name in path.split("/"):
        if node.children is None or name not in node.children:
            return None
        node = node.children[name]
    return node


def _caches(analysis: Analysis) -> list[Advice]:
    found: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    fixes: dict[str, str] = {}
    dirs: dict[tuple[int, str], set[str]] = defaultdict(set)
    for index, entries in enumerate(analysis.layer_entries):
        for entry in entries:
            if entry.is_dir or entry.kind != "0":
                continue
            kind = _cache_kind(entry.path)
            if kind is None:
                continue
            node = _get(analysis.filesystem, entry.path)
            if node is None or node.layer != index:
                continue  # removed or overwritten later: counted as waste elsewhere
            slot = found[(index, kind[0])]
            slot[0] += 1
            slot[1] += entry.size
            fixes[kind[0]] = kind[1]
            dirs[(index, kind[0])].add(kind[2])
    out = []
    for (index, what), (files, size) in sorted(found.items()):
        if size == 0:
            continue
        command = analysis.layers[index].command
        paths = sorted(dirs[(index, what)])
        out.append(
            Advice(
                "cache-left-in-layer",
                f"layer {index} ({command[:60]}) leaves {_mb(size)} of {what} ({files} files) "
                f"in the image: {fixes[what]}",
                index,
                size,
                paths,
            )
        )
    return out


def _deleted_later(analysis: Analysis) -> list[Advice]:
    out = []
    for layer in analysis.layers:
        for removal in layer.changes.removals:
            if removal.size < _MIN_WASTE or removal.added_in < 0:
                continue
            added = analysis.layers[removal.added_in]
            out.append(
                Advice(
                    "deleted-in-later-layer",
                    f"/{removal.path} ({_mb(removal.size)}, {removal.files} files) is added in "
                    f"layer {removal.added_in} ({added.command[:50]}) and deleted in layer "
                    f"{layer.index}: the bytes stay in the image; delete in the same RUN that "
                    "creates them, or build in a separate stage and COPY only the result",
                    layer.index,
                    removal.size,
                    [f"/{removal.path}"],
                )
            )
    return out


def _overwritten(analysis: Analysis) -> list[Advice]:
    big = [i for i in analysis.inefficiencies if i.cumulative_size >= _MIN_WASTE and i.count > 1]
    total = sum(i.cumulative_size for i in big)
    if total < 10 * _MIN_WASTE:
        return []
    return [
        Advice(
            "wasted-space",
            f"{_mb(analysis.wasted_bytes)} wasted: {len(big)} paths are written by several "
            "layers (largest first below); merge the RUNs that touch them",
            None,
            analysis.wasted_bytes,
            [i.path for i in big[:10]],
        )
    ]


def _build_tools(analysis: Analysis) -> list[Advice]:
    tools: list[str] = []
    for directory in _TOOL_DIRS:
        node = _get(analysis.filesystem, directory)
        if node is None or node.children is None:
            continue
        tools += [f"/{directory}/{name}" for name in sorted(node.children) if _TOOLS.match(name)]
    gcc = _get(analysis.filesystem, "usr/lib/gcc")
    if not tools and gcc is None:
        return []
    return [
        Advice(
            "build-tools-in-final-image",
            "build tools are left in the final image ("
            + ", ".join(tools[:6] or ["/usr/lib/gcc"])
            + "): compile in a builder stage and COPY --from it only what runs",
            None,
            0,
            tools,
        )
    ]


def _base(analysis: Analysis) -> list[Advice]:
    if not analysis.layers:
        return []
    base = analysis.layers[0]
    docs = sum(
        e.size for e in analysis.layer_entries[0] if not e.is_dir and e.path.startswith(_DOCS)
    )
    if base.size < _BIG_BASE and docs < 10 * _MIN_WASTE:
        return []
    return [
        Advice(
            "large-base",
            f"the base layer is {_mb(base.size)}"
            + (f", {_mb(docs)} of it documentation, manuals and locales" if docs else "")
            + ": a slim base (debian:*-slim, python:*-slim, alpine, distroless) would do "
            "unless the application needs what it carries",
            0,
            base.size,
        )
    ]


def advise(analysis: Analysis) -> list[Advice]:
    """Every piece of advice, most bytes first."""
    found = (
        _caches(analysis)
        + _deleted_later(analysis)
        + _overwritten(analysis)
        + _build_tools(analysis)
        + _base(analysis)
    )
    return sorted(found, key=lambda a: -a.size)
