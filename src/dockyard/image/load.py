"""``load``: every image of a docker-archive or oci-archive, copied into the local store.

Loading is ``copy(archive image → store)`` for each image the archive holds, with the copy
machinery's progress, verification and store commit. The archive is read in place (a plain tar
file) or from an uncompressed temporary copy in the store's ``ingest/`` (a compressed tar, or
one on stdin). All or nothing: the archive is checked whole before a blob is copied, and no
image is recorded or tagged until every image's blobs are in the store, under leases that keep
a concurrent GC away; a failure leaves no image, and its blobs to the next GC.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from dockyard.digest import Digest
from dockyard.image._archive_reader import (
    ArchiveEntry,
    ImageArchive,
    open_archive,
    present_platforms,
)
from dockyard.image._endpoints import ImageDestination, ImageSource, OpenStream
from dockyard.image.copy import copy
from dockyard.image.store import StoreDestination
from dockyard.local import LocalStore
from dockyard.oci import Descriptor
from dockyard.progress import NullProgress, Progress
from dockyard.reference import Reference

__all__ = ["LoadedImage", "load_archive", "load_images"]


@dataclass
class LoadedImage:
    """One image (or index) that a load put into the store."""

    descriptor: Descriptor
    image_id: Digest
    names: list[Reference] = field(default_factory=list)


def load_archive(
    store: LocalStore,
    source: Path | BinaryIO,
    *,
    progress: Progress | None = None,
    label: str | None = None,
) -> list[LoadedImage]:
    """Load every image in a docker-archive or oci-archive tar (maybe compressed; a path or
    a stream such as stdin) into the store; returns what was loaded, recorded and tagged."""
    with open_archive(source, label=label, spool_dir=store.content.ingest_dir) as archive:
        return load_images(store, archive, progress=progress)


def load_images(
    store: LocalStore, archive: ImageArchive, *, progress: Progress | None = None
) -> list[LoadedImage]:
    """Copy every image of an opened archive into the store, then record and tag them all."""
    progress = progress or NullProgress()
    loaded: list[LoadedImage] = []
    with ExitStack() as stack:
        staged: list[_Staged] = []
        for entry in archive.entries:
            store_dst = StoreDestination(store, list(entry.names))
            stack.callback(store_dst.close)
            dst = _Staged(store_dst)
            _copy_entry(archive, entry, dst, progress)
            staged.append(dst)
            loaded.append(LoadedImage(entry.descriptor, entry.image_id, list(entry.names)))
        for dst in staged:
            dst.publish()
    return loaded


def _copy_entry(
    archive: ImageArchive, entry: ArchiveEntry, dst: ImageDestination, progress: Progress
) -> None:
    src = archive.source(entry)
    present = present_platforms(archive, entry)
    if present is None:  # an image, or an index with every platform in the archive
        copy(src, dst, all_platforms=True, progress=progress)
        return
    for child in present:  # the platforms an index holds (saved from a partial pull)
        copy(src, dst, platform=child.platform, progress=progress)


class _Staged:
    """A store destination whose commit (record, tags) waits for :meth:`publish`, so that a
    load of several images names none of them unless every one was copied."""

    def __init__(self, inner: StoreDestination) -> None:
        self.inner = inner
        self.keeps_partial_index = inner.keeps_partial_index
        self._root: tuple[Descriptor, bytes] | None = None

    def describe(self) -> str:
        return self.inner.describe()

    def has_blob(self, descriptor: Descriptor) -> bool:
        return self.inner.has_blob(descriptor)

    def mount_blob(self, descriptor: Descriptor, source: ImageSource) -> bool:
        return False

    def put_blob(self, descriptor: Descriptor, open_stream: OpenStream) -> None:
        self.inner.put_blob(descriptor, open_stream)

    def put_manifest(self, descriptor: Descriptor, raw: bytes) -> None:
        self.inner.put_manifest(descriptor, raw)

    def commit(self, root: Descriptor, raw: bytes) -> None:
        self.inner.put_manifest(root, raw)  # under the lease now; named in publish()
        self._root = (root, raw)

    def publish(self) -> None:
        assert self._root is not None, "publish() before the copy committed"
        self.inner.commit(*self._root)

    def close(self) -> None:
        self.inner.close()
