"""``prune_cache``: remove build cache, as ``docker builder prune`` does.

What a default prune removes (docker's "dangling" build cache), given the images the store
records, tagged or not:

* step records whose layer no recorded image has (intermediate stages, images since removed)
  or whose layer blob is no longer in the store; the layers themselves go with the store's
  garbage collection that ends the prune;
* snapshots that are not the root filesystem, or a lower part of it, of a recorded image;
* ``RUN --mount=type=cache`` directories (as BuildKit's default prune does);
* checksum indexes of build contexts whose directory no longer exists;
* no-op rebuild records, and what interrupted builds left behind.

It keeps records that point at no layer (empty steps, stage creation times: they take no
space). ``all_cache`` removes every entry (the ``scratch`` snapshot stays). ``until`` keeps
what was used (records) or made (snapshots, cache mounts) at or after that time;
``keep_storage`` removes, least recently used first, only until the cache takes at most that
many bytes.

A prune never breaks a running build: builds share the build directory's lock and a prune
takes it exclusively (:mod:`dockyard.builder.cache._lock`). When it cannot, it removes only records
whose layer is gone from the store, and says so in :attr:`PruneReport.busy`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from dockyard.builder.cache._inventory import (
    CacheEntry,
    ImageUse,
    Item,
    image_use,
    inventory,
    records,
)
from dockyard.builder.cache._lock import BuildLock
from dockyard.builder.cache._removal import delete_records, remove, rmtree, vacuum
from dockyard.digest import Digest
from dockyard.errors import DockyardError
from dockyard.local import LocalStore

__all__ = ["PruneReport", "prune_cache"]

BUILD_DIR = "build"  # dockyard.builder.worker.BUILD_DIR


@dataclass(frozen=True)
class PruneReport:
    """What a prune removed, the bytes it freed, and what it left."""

    removed: tuple[CacheEntry, ...]
    #: bytes freed: removed directories and files, and the blobs the closing gc deleted
    reclaimed: int
    #: entries left in the cache
    kept: int
    #: a build was using the cache: only records of layers gone from the store were removed
    busy: bool = False
    warnings: tuple[str, ...] = ()


def prune_cache(
    store: LocalStore,
    *,
    all_cache: bool = False,
    until: datetime | None = None,
    keep_storage: int | None = None,
) -> PruneReport:
    """Remove build cache from ``store``: the dangling entries, or with ``all_cache`` every
    entry; see the module documentation for the rules."""
    root = store.root / BUILD_DIR
    if not root.is_dir():
        return PruneReport((), 0, 0)
    hold = BuildLock.try_exclusive(root)
    if hold is None:
        return _prune_stale_records(store, root)
    trash = root / "trash" / f".prune-{secrets.token_hex(6)}"
    try:
        items = inventory(store, root)
        use = image_use(store)
        _size_layers(store, items, use)
        chosen = _choose(items, _in_use(items, use, all_cache=all_cache), until, keep_storage)
        removed, warnings = remove(root, chosen, trash)
        gone = {id(i) for i in removed}
        kept_layers = [  # layers of records that stay although no image has them (filters)
            i.digest
            for i in items
            if i.digest is not None
            and not i.layer_gone
            and i.digest not in use.layers
            and id(i) not in gone
        ]
        freed = _collect(store, kept_layers)
        report = _report(removed, freed, len(items) - len(removed), warnings)
        vacuum(root, removed)
    finally:
        hold.release()
        rmtree(trash)
        with contextlib.suppress(OSError):
            trash.parent.rmdir()
    return report


# --- choosing -------------------------------------------------------------------------------


def _size_layers(store: LocalStore, items: list[Item], use: ImageUse) -> None:
    """A ``regular`` record's size: its layer's, when no image has the layer (given to the
    first record of a layer; removing every record of the layer is what frees it)."""
    counted: set[Digest] = set()
    for item in items:
        d = item.digest
        if d is None or item.layer_gone or d in use.layers or d in counted:
            continue
        counted.add(d)
        with contextlib.suppress(DockyardError):
            item.entry = replace(item.entry, size=store.content.size(d))


def _in_use(items: list[Item], use: ImageUse, *, all_cache: bool) -> set[int]:
    """``id()`` of the items a default prune keeps (none with ``all_cache``)."""
    if all_cache:
        return set()
    keep: set[int] = set()
    for item in items:
        kind = item.type
        if (
            kind == "metadata"
            or (kind == "regular" and not item.layer_gone and item.digest in use.layers)
            or (kind == "snapshot" and item.chain in use.chains)
            or (kind == "source.local" and os.path.isdir(item.ref))
            or (kind == "internal" and _being_written(item))
        ):
            keep.add(id(item))
    return keep


def _being_written(item: Item) -> bool:
    """A no-op record's temporary file, maybe still being written by a build that finished."""
    name = item.ref.rpartition("/")[2]
    used = item.entry.last_used
    return (
        item.ref.startswith("noop/")
        and name.startswith(".")
        and (used is None or (datetime.now(UTC) - used).total_seconds() < 3600)
    )


def _choose(
    items: list[Item], keep: set[int], until: datetime | None, keep_storage: int | None
) -> list[Item]:
    """The items to remove (least recently used first), each snapshot after every snapshot
    stacked on it."""
    total = sum(i.entry.size for i in items)
    if keep_storage is not None and total <= keep_storage:
        return []
    oldest = datetime.min.replace(tzinfo=UTC)
    candidates = sorted(
        (
            i
            for i in items
            if id(i) not in keep
            and (until is None or (i.entry.last_used is not None and i.entry.last_used < until))
        ),
        key=lambda i: i.entry.last_used or oldest,
    )
    children: dict[str, int] = {}
    for i in items:
        if i.parent:
            children[i.parent] = children.get(i.parent, 0) + 1
    chosen: list[Item] = []
    restart = True
    while restart:  # again from the oldest after a snapshot whose parent may now go
        restart = False
        for item in list(candidates):
            if item.type == "snapshot" and children.get(item.ref.rpartition("/")[2], 0):
                continue  # a snapshot stays while one stacked on it stays
            candidates.remove(item)
            chosen.append(item)
            total -= item.entry.size
            if keep_storage is not None and total <= keep_storage:
                return chosen
            if item.parent:
                children[item.parent] -= 1
                restart = True
                break
    return chosen


def _collect(store: LocalStore, kept_layers: list[Digest]) -> tuple[set[Digest], int]:
    """The store's gc: (blobs deleted, bytes freed). The layers of records that stay although
    no image has them are leased meanwhile, so that this gc does not turn them into misses."""
    if not kept_layers:
        result = store.gc()
        return set(result.removed), result.reclaimed
    with store.lease(description="builder prune") as lease:
        with store.metadata.write():
            for digest in dict.fromkeys(kept_layers):
                lease.add(digest)
        result = store.gc()
    return set(result.removed), result.reclaimed


def _report(
    removed: list[Item], freed: tuple[set[Digest], int], kept: int, warnings: list[str]
) -> PruneReport:
    gone, reclaimed = freed
    out: list[CacheEntry] = []
    for item in removed:
        entry = item.entry
        if item.type == "regular":
            if item.digest not in gone:
                entry = replace(entry, size=0)
        else:
            reclaimed += entry.size
        out.append(entry)
    return PruneReport(tuple(out), reclaimed, kept, warnings=tuple(warnings))


def _prune_stale_records(store: LocalStore, root: Path) -> PruneReport:
    """While a build runs: only the records whose layer is gone (no build can use them)."""
    items = records(store, root)
    removed = delete_records(root, [i for i in items if i.layer_gone])
    warning = (
        "a build is using the build cache, so only records of layers no longer in the store "
        "were removed; run the prune again when it has finished"
    )
    return PruneReport(
        tuple(i.entry for i in removed),
        0,
        len(items) - len(removed),
        busy=True,
        warnings=(warning,),
    )
