"""What the build cache holds under ``<store>/build``, entry by entry, and what images use.

The entries, with docker's record types where one fits:

* ``regular``: a step record whose step made a layer (``cache.db``); its size is the layer
  blob's when no recorded image has that layer (what removing the record lets gc free);
* ``metadata``: a step record with no layer (an empty step) or a stage's creation time;
* ``snapshot``: a root filesystem under ``snapshots/`` (named by its chain ID);
* ``exec.cachemount``: a ``RUN --mount=type=cache`` directory under ``cache/``;
* ``source.local``: the checksum index of one build context directory (``checksums.db``);
* ``internal``: no-op rebuild records (``noop/``) and what an interrupted build or prune left
  in ``work/``, ``tmp/``, ``bundles/``, ``trash/`` or ``snapshots/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dockyard.builder.cache.checksums import CHECKSUM_DB, indexed_roots
from dockyard.builder.cache.noop import RECORD_DIR as NOOP_DIR
from dockyard.builder.cache.noop import read_record
from dockyard.builder.cache.records import CACHE_DB, read_records
from dockyard.builder.worker import chain_id
from dockyard.digest import Digest
from dockyard.errors import DockyardError
from dockyard.local import LocalStore
from dockyard.oci import Index, parse_manifest_or_index

__all__ = ["CacheEntry", "ImageUse", "Item", "disk_usage", "image_use", "inventory", "records"]

SCRATCH = "scratch"
#: Directories where builds (and prunes) keep things only while they run.
TRANSIENT_DIRS = ("work", "tmp", "bundles", "trash")

_UNIX_EPOCH_JD = 2440587.5
_MAX_MANIFEST = 4 << 20
_MAX_CONFIG = 16 << 20


@dataclass(frozen=True)
class CacheEntry:
    """One thing the build cache holds, as a prune reports it."""

    id: str  #: a short name (25 characters, like BuildKit's record IDs)
    type: str
    size: int  #: bytes removing it frees
    last_used: datetime | None  #: when a build last used it (made it, for directories)
    description: str

    def to_json(self) -> dict[str, object]:
        used = self.last_used.isoformat().replace("+00:00", "Z") if self.last_used else None
        return {
            "ID": self.id,
            "Type": self.type,
            "Size": self.size,
            "LastUsedAt": used,
            "Description": self.description,
        }


@dataclass
class Item:
    """An entry and what removing it takes."""

    entry: CacheEntry
    #: a record's key, a directory's path relative to the build root, a context's path
    ref: str
    #: a ``regular`` record's layer, and whether its blob is gone from the store
    digest: Digest | None = None
    layer_gone: bool = False
    #: a record's value (it is deleted only while it still has this value)
    value: str = ""
    #: a snapshot's chain ID, and its parent's directory (``upper`` snapshots)
    chain: str | None = None
    parent: str | None = None

    @property
    def type(self) -> str:
        return self.entry.type


@dataclass
class ImageUse:
    """What the recorded images (tagged or not) are made of."""

    #: chain IDs of every image's root filesystem and of each of its lower parts
    chains: set[str] = field(default_factory=set)
    #: every layer blob of every image
    layers: set[Digest] = field(default_factory=set)


def _short(text: str) -> str:
    return text.removeprefix("sha256:")[:25]


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.lstat().st_mtime, UTC)
    except OSError:
        return None


def disk_usage(path: Path) -> int:
    """Bytes ``path`` takes on disk (each inode counted once, symlinks not followed)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    stack = [str(path)]
    first = True
    while stack:
        top = stack.pop()
        try:
            st = os.lstat(top)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
        if stat.S_ISDIR(st.st_mode) and (first or not os.path.ismount(top)):
            first = False
            with contextlib.suppress(OSError), os.scandir(top) as it:
                stack.extend(entry.path for entry in it)
    return total


# --- records --------------------------------------------------------------------------------


def records(store: LocalStore, root: Path) -> list[Item]:
    """The step records in ``root``'s ``cache.db``."""
    rows = read_records(root / CACHE_DB)
    if not rows:
        return []
    present: dict[Digest, bool] = {}
    out: list[Item] = []
    replayed = _replayed(root)
    for key, value, used_at in rows:
        used = datetime.fromtimestamp((used_at - _UNIX_EPOCH_JD) * 86400, UTC)
        if key in replayed:
            used = max(used, replayed[key])
        digest = _layer_of(value)
        if digest is None:
            what = "empty step" if value.startswith("{") else "stage creation time"
            entry = CacheEntry(_short(key), "metadata", 0, used, f"step record: {what}")
            out.append(Item(entry, key, value=value))
            continue
        if digest not in present:
            present[digest] = store.content.exists(digest)
        gone = "" if present[digest] else " (no longer in the store)"
        entry = CacheEntry(_short(key), "regular", 0, used, f"step record: layer {digest}{gone}")
        out.append(Item(entry, key, digest=digest, layer_gone=not present[digest], value=value))
    return out


def _replayed(root: Path) -> dict[str, datetime]:
    """When a no-op record last answered a build, for each cache record it stands for (a build
    answered at start-up does not open the cache; it touches its record instead)."""
    out: dict[str, datetime] = {}
    for path in _children(root / NOOP_DIR):
        data = read_record(str(path))
        if data is None:
            continue
        try:
            when = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except OSError:
            continue
        for key in data.get("cache_keys", ()):
            if isinstance(key, str) and (key not in out or out[key] < when):
                out[key] = when
    return out


def _layer_of(value: str) -> Digest | None:
    if not value.startswith("{"):
        return None
    try:
        text = json.loads(value).get("digest")
        return Digest.parse(text) if text else None
    except (ValueError, AttributeError, DockyardError):
        return None


# --- directories ----------------------------------------------------------------------------


def _snapshots(root: Path) -> tuple[list[Item], list[Item]]:
    """(snapshots, leftover directories without a snapshot's metadata)."""
    snaps: list[Item] = []
    stray: list[Item] = []
    for path in _children(root / "snapshots"):
        if path.name == SCRATCH:
            continue
        meta_path = path / "meta.json"
        try:
            meta = json.loads(meta_path.read_text())
            key = str(meta["key"])
            parent = meta.get("parent") if meta.get("kind") == "upper" else None
        except (OSError, ValueError, KeyError, TypeError):
            stray.append(_leftover(root, path, "snapshot without metadata"))
            continue
        entry = CacheEntry(
            _short(key), "snapshot", disk_usage(path), _mtime(meta_path), f"root filesystem {key}"
        )
        rel = f"snapshots/{path.name}"
        snaps.append(Item(entry, rel, chain=key, parent=str(parent) if parent else None))
    return snaps, stray


def _cache_mounts(root: Path) -> list[Item]:
    out: list[Item] = []
    for path in _children(root / "cache"):
        times = [t for t in (_mtime(p) for p in [path, *_children(path)]) if t is not None]
        entry = CacheEntry(
            path.name[:25],
            "exec.cachemount",
            disk_usage(path),
            max(times) if times else None,
            "RUN --mount=type=cache directory",
        )
        out.append(Item(entry, f"cache/{path.name}"))
    return out


def _checksum_roots(root: Path) -> list[Item]:
    out: list[Item] = []
    for context, size in indexed_roots(root / CHECKSUM_DB):
        name = hashlib.sha256(context.encode()).hexdigest()[:25]
        what = f"checksums of the build context {context}"
        out.append(Item(CacheEntry(name, "source.local", size, None, what), context))
    return out


def _leftover(root: Path, path: Path, what: str) -> Item:
    rel = path.relative_to(root).as_posix()
    entry = CacheEntry(path.name[:25], "internal", disk_usage(path), _mtime(path), f"{what}: {rel}")
    return Item(entry, rel)


def _internal(root: Path) -> list[Item]:
    out = [_leftover(root, p, "no-op rebuild record") for p in _children(root / NOOP_DIR)]
    for name in TRANSIENT_DIRS:
        out += [_leftover(root, p, "left by an interrupted build") for p in _children(root / name)]
    return out


def _children(path: Path) -> Iterator[Path]:
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return
    for name in names:
        yield path / name


def inventory(store: LocalStore, root: Path) -> list[Item]:
    """Every entry of the build cache under ``root`` (the store's ``build/`` directory)."""
    snaps, stray = _snapshots(root)
    return [
        *records(store, root),
        *snaps,
        *_cache_mounts(root),
        *_checksum_roots(root),
        *_internal(root),
        *stray,
    ]


# --- what images use ------------------------------------------------------------------------


def image_use(store: LocalStore) -> ImageUse:
    """The layers and root filesystems (chain IDs) of every image the store records."""
    use = ImageUse()
    seen: set[Digest] = set()
    todo = [image.manifest_digest for image in store.images()]
    while todo:
        digest = todo.pop()
        if digest in seen:
            continue
        seen.add(digest)
        try:
            manifest, children = _read_manifest(store, digest)
        except DockyardError:
            continue  # missing or unreadable: nothing of it is in use
        todo.extend(children)
        if manifest is None:
            continue
        layers, config = manifest
        use.layers.update(layers)
        try:
            data = json.loads(store.content.read_bytes(config, max_size=_MAX_CONFIG))
            diff_ids = [str(d) for d in data["rootfs"]["diff_ids"]]
        except (DockyardError, ValueError, KeyError, TypeError):
            continue
        key = SCRATCH
        for diff_id in diff_ids:
            key = chain_id(key, diff_id)
            use.chains.add(key)
    return use


def _read_manifest(
    store: LocalStore, digest: Digest
) -> tuple[tuple[list[Digest], Digest] | None, list[Digest]]:
    """((layers, config) of a manifest, or None for an index; the index's children)."""
    raw = store.content.read_bytes(digest, max_size=_MAX_MANIFEST)
    parsed = parse_manifest_or_index(raw)
    if isinstance(parsed, Index):
        return None, [d.digest for d in parsed.manifests]
    return ([d.digest for d in parsed.layers], parsed.config.digest), []
