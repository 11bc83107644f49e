"""The final file view of an image (layers with whiteouts applied), without extracting it.

Layers are read from the top down: the first time a path is seen it is the final version, so
nothing is kept that a later layer replaces. Only regular files whose paths match the catalogers'
globs keep their bytes (in memory, or spooled to a temporary file when large); executables can be
handed to a probe while their layer streams past. Every entry remembers the layer it came from.

Member names are normalised by :func:`member_path` (absolute, ``..`` clamped at the root); what a
scan may read is bounded by its :class:`ScanBudget`: decompressed bytes per layer, the size of a
file read whole, and (past a total kept in memory) kept files go to temporary files.
"""

from __future__ import annotations

import mmap
import os
import posixpath
import re
import stat
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from dockyard.errors import InvalidArgument, NotFound
from dockyard.scan._budget import CappedReader, ScanBudget
from dockyard.scan._paths import member_path

__all__ = [
    "FileEntry",
    "FileView",
    "LayerInput",
    "Probe",
    "ProbeData",
    "walk_directory",
    "walk_layers",
]

_SPOOL_LIMIT = 8 << 20
#: kept file bytes held in memory per view; later kept files are spooled to temporary files
_MEMORY_LIMIT = 256 << 20
_PROBE_LIMIT = 512 << 20
_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"
ELF_MAGIC = b"\x7fELF"


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str
    kind: str  # file, dir, symlink, hardlink, other
    mode: int = 0
    size: int = 0
    link: str = ""
    layer: str | None = None


@dataclass(frozen=True, slots=True)
class LayerInput:
    """One layer: its diff_id (reported as the layer) and how to open its tar stream."""

    diff_id: str
    open: Callable[[], IO[bytes]]
    digest: str = ""


#: Called with each final executable ELF file and its bytes; the probe keeps what it wants.
#: A binary to probe: the bytes of a layer member, or a read-only map of a file on disk.
ProbeData = bytes | mmap.mmap
Probe = Callable[[FileEntry, ProbeData], None]


@dataclass
class FileView:
    """Every final path's metadata; the bytes of the files that were kept."""

    entries: dict[str, FileEntry] = field(default_factory=dict)
    contents: dict[str, bytes | IO[bytes]] = field(default_factory=dict)
    layers: list[str] = field(default_factory=list)
    budget: ScanBudget = field(default_factory=ScanBudget)
    #: bytes of ``contents`` held in memory (the rest is spooled)
    in_memory: int = 0

    def resolve(self, path: str) -> str:
        """``path`` with every symlink along it followed (within the view)."""
        parts = [p for p in path.split("/") if p]
        done = "/"
        hops = 0
        while parts:
            current = posixpath.join(done, parts.pop(0))
            entry = self.entries.get(current)
            if entry is not None and entry.kind == "symlink":
                hops += 1
                if hops > 40:
                    raise NotFound(f"too many levels of symbolic links resolving {path}")
                target = entry.link
                base = "/" if target.startswith("/") else done
                parts = [p for p in target.split("/") if p] + parts
                done = base
                if target.startswith("/"):
                    done = "/"
                continue
            done = posixpath.normpath(current)
        return done

    def entry(self, path: str) -> FileEntry | None:
        return self.entries.get(self.resolve(path))

    def read(self, path: str) -> bytes | None:
        """The bytes of a kept file (symlinks followed), or None if it was not kept.

        Raises :class:`ScanLimitExceeded` for a file larger than ``budget.file_bytes``."""
        data = self.contents.get(path)
        if data is None:
            data = self.contents.get(self.resolve(path))
        if data is None:
            return None
        if isinstance(data, bytes):
            self.budget.check_file(path, len(data))
            return data
        self.budget.check_file(path, data.seek(0, os.SEEK_END))
        data.seek(0)
        return data.read()

    def keep(self, path: str, stream: IO[bytes], size: int) -> None:
        """Keep the ``size`` bytes of ``stream`` as the contents of ``path``."""
        if size <= _SPOOL_LIMIT and self.in_memory + size <= _MEMORY_LIMIT:
            data = stream.read()
            self.in_memory += len(data)
            self.contents[path] = data
        else:
            self.contents[path] = _spool(stream)

    def open(self, path: str) -> IO[bytes] | None:
        data = self.contents.get(path) or self.contents.get(self.resolve(path))
        if data is None:
            return None
        if isinstance(data, bytes):
            import io

            return io.BytesIO(data)
        data.seek(0)
        return data

    def glob(self, pattern: re.Pattern[str]) -> list[str]:
        """Kept paths matching ``pattern``, sorted."""
        return sorted(p for p in self.contents if pattern.match(p))

    def close(self) -> None:
        for data in self.contents.values():
            if not isinstance(data, bytes):
                data.close()
        self.contents.clear()
        self.in_memory = 0


def _kind(info: tarfile.TarInfo) -> str:
    if info.isreg():
        return "file"
    if info.isdir():
        return "dir"
    if info.issym():
        return "symlink"
    if info.islnk():
        return "hardlink"
    return "other"


def _spool(stream: IO[bytes]) -> IO[bytes]:
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - owned by the view, closed by close()
    while chunk := stream.read(1 << 20):
        spool.write(chunk)
    return spool


class _Hidden:
    """What upper layers hide from lower ones: deleted paths, opaque dirs, non-directories."""

    def __init__(self) -> None:
        self.deleted: set[str] = set()
        self.opaque: set[str] = set()

    def hides(self, path: str, entries: dict[str, FileEntry]) -> bool:
        """Whether ``path`` (normalised by :func:`member_path`) is hidden."""
        if path in self.deleted:
            return True
        parts = path.split("/")[1:-1]
        for depth in range(len(parts), 0, -1):
            parent = "/" + "/".join(parts[:depth])
            if parent in self.deleted or parent in self.opaque:
                return True
            above = entries.get(parent)
            if above is not None and above.kind != "dir":
                return True
        return False


def walk_layers(
    layers: list[LayerInput],
    keep: re.Pattern[str],
    probe: Probe | None = None,
    budget: ScanBudget | None = None,
) -> FileView:
    """The final view of ``layers`` (bottom first), keeping files whose paths match ``keep``;
    reading stops past ``budget.layer_bytes`` of a layer (:class:`ScanLimitExceeded`)."""
    budget = ScanBudget() if budget is None else budget
    view = FileView(layers=[layer.diff_id for layer in layers], budget=budget)
    hidden = _Hidden()
    links: dict[str, tuple[str, int]] = {}  # kept hardlink path -> (target, layer index)
    for index in range(len(layers) - 1, -1, -1):
        layer = layers[index]
        deleted: set[str] = set()
        opaque: set[str] = set()
        seen_here: set[str] = set()
        try:
            with (
                layer.open() as raw,
                tarfile.open(
                    fileobj=CappedReader(raw, budget, layer.diff_id), mode="r|", bufsize=1 << 20
                ) as tar,
            ):
                for info in tar:
                    path = member_path(info.name)
                    base = posixpath.basename(path)
                    if base.startswith(_WHITEOUT):
                        parent = posixpath.dirname(path)
                        if base == _OPAQUE:
                            opaque.add(parent)
                        else:
                            deleted.add(posixpath.join(parent, base[len(_WHITEOUT) :]))
                        continue
                    if path in view.entries and path not in seen_here:
                        continue
                    if hidden.hides(path, view.entries):
                        continue
                    seen_here.add(path)
                    kind = _kind(info)
                    link = info.linkname
                    if kind == "hardlink":
                        link = member_path(link)
                    entry = FileEntry(path, kind, info.mode, info.size, link, layer.diff_id)
                    view.entries[path] = entry
                    view.contents.pop(path, None)
                    if kind == "hardlink" and keep.match(path):
                        links[path] = (link, index)
                    if kind != "file":
                        continue
                    if keep.match(path):
                        member = tar.extractfile(info)
                        if member is not None:
                            view.keep(path, member, info.size)
                    elif probe is not None and info.mode & 0o111 and info.size > 64:
                        _probe_member(tar, info, entry, probe)
        except tarfile.TarError as exc:
            raise InvalidArgument(f"layer {layer.diff_id} is not a valid tar: {exc}") from exc
        hidden.deleted |= deleted
        hidden.opaque |= opaque
    if links:
        _resolve_hardlinks(layers, view, links)
    return view


def _probe_member(
    tar: tarfile.TarFile, info: tarfile.TarInfo, entry: FileEntry, probe: Probe
) -> None:
    member = tar.extractfile(info)
    if member is None or info.size > _PROBE_LIMIT:
        return
    head = member.read(4)
    if head != ELF_MAGIC:
        return
    # spooled to a temporary file and mapped, not read into memory: the probes look at a few
    # sections of each binary and search the rest a window at a time
    with tempfile.TemporaryFile(prefix="dockyard-probe-") as spool:
        spool.write(head)
        while chunk := member.read(1 << 20):
            spool.write(chunk)
        spool.flush()
        with mmap.mmap(spool.fileno(), 0, access=mmap.ACCESS_READ) as data:
            probe(entry, data)


def _resolve_hardlinks(
    layers: list[LayerInput], view: FileView, links: dict[str, tuple[str, int]]
) -> None:
    """Give kept hardlinks the bytes of their targets (read again from their layers)."""
    for path, (target, _index) in list(links.items()):
        if target in view.contents:
            view.contents[path] = view.contents[target]
            del links[path]
    by_layer: dict[int, dict[str, list[str]]] = {}
    for path, (target, index) in links.items():
        by_layer.setdefault(index, {}).setdefault(target, []).append(path)
    for index, wanted in by_layer.items():
        layer = layers[index]
        with (
            layer.open() as raw,
            tarfile.open(fileobj=CappedReader(raw, view.budget, layer.diff_id), mode="r|") as tar,
        ):
            for info in tar:
                paths = wanted.get(member_path(info.name))
                if paths and info.isreg():
                    member = tar.extractfile(info)
                    if member is not None:
                        view.keep(paths[0], member, info.size)
                        for p in paths[1:]:
                            view.contents[p] = view.contents[paths[0]]


def _walk_dir(root: Path) -> Iterator[tuple[str, os.DirEntry[str]]]:
    stack = [("/", os.fspath(root))]
    while stack:
        rel, real = stack.pop()
        try:
            with os.scandir(real) as it:
                children = list(it)
        except OSError:
            continue
        for child in children:
            path = posixpath.join(rel, child.name)
            yield path, child
            if child.is_dir(follow_symlinks=False):
                stack.append((path, child.path))


def walk_directory(
    root: Path,
    keep: re.Pattern[str],
    probe: Probe | None = None,
    budget: ScanBudget | None = None,
) -> FileView:
    """The view of a directory tree (one pseudo-layer, reported as no layer)."""
    if not root.is_dir():
        raise NotFound(f"{root} is not a directory")
    view = FileView(budget=ScanBudget() if budget is None else budget)
    for path, child in _walk_dir(root):
        try:
            st = child.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode):
            view.entries[path] = FileEntry(path, "symlink", 0o777, 0, os.readlink(child.path))
            continue
        if stat.S_ISDIR(st.st_mode):
            view.entries[path] = FileEntry(path, "dir", stat.S_IMODE(st.st_mode))
            continue
        if not stat.S_ISREG(st.st_mode):
            view.entries[path] = FileEntry(path, "other", stat.S_IMODE(st.st_mode))
            continue
        entry = FileEntry(path, "file", stat.S_IMODE(st.st_mode), st.st_size)
        view.entries[path] = entry
        if keep.match(path):
            try:
                with open(child.path, "rb") as f:
                    view.keep(path, f, st.st_size)
            except OSError:
                continue
        elif probe is not None and st.st_mode & 0o111 and 64 < st.st_size <= _PROBE_LIMIT:
            try:
                with open(child.path, "rb") as f:
                    if f.read(4) == ELF_MAGIC:
                        # mapped, not read: the probes look at a few sections of each binary
                        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                            probe(entry, data)
            except OSError:
                continue
    return view


def iter_kept(view: FileView, pattern: re.Pattern[str]) -> Iterable[tuple[str, bytes]]:
    for path in view.glob(pattern):
        data = view.read(path)
        if data is not None:
            yield path, data
