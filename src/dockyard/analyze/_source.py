"""Finding an image in the local store and reading its layers' headers, in parallel."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO, cast

from dockyard.analyze._tarscan import TarEntry, scan_tar
from dockyard.errors import SizeInvalid
from dockyard.image import BlobSource, Layer
from dockyard.image.blob import BlobImage, BlobIndex, open_any
from dockyard.image.store import StoreSource
from dockyard.imageservice import find_image, summaries
from dockyard.layers import decompressor, detect
from dockyard.local import LocalStore
from dockyard.oci import Platform
from dockyard.progress import NullProgress, Progress

__all__ = ["open_image", "read_layers"]


def open_image(store: LocalStore, name: str, platform: Platform | None = None) -> BlobImage:
    """The image ``name`` (reference, ID or ID prefix) names in the store; for a
    multi-platform image, the one for ``platform`` (default: this host's)."""
    summary = find_image(name, summaries(store))
    root = open_any(StoreSource(store), summary.descriptor)
    if isinstance(root, BlobIndex):
        return root.image(root.index().select(platform or Platform.current()))
    return root


def _open(layer: Layer, source: BlobSource | None, verify: bool) -> tuple[BinaryIO, bool]:
    """The layer blob, and whether it is a plain file we may seek in.

    Blobs in the local store were verified when they were committed; without ``verify`` they
    are read as plain files (their size is still checked) instead of being hashed again.
    """
    if not verify and isinstance(source, StoreSource):
        descriptor = layer.descriptor
        content = source.store.content
        stream = content.open(descriptor.digest, size=descriptor.size, verify=False)
        size = os.fstat(stream.fileno()).st_size
        if size != descriptor.size:
            stream.close()
            raise SizeInvalid(
                f"blob {descriptor.digest} has {size} bytes but its descriptor declares "
                f"{descriptor.size}; remove it (`dockyard image prune`) and load the image again"
            )
        return stream, True
    return layer.compressed(), False


def _scan(layer: Layer, source: BlobSource | None, digests: bool, verify: bool) -> list[TarEntry]:
    raw, seekable = _open(layer, source, verify or digests)
    try:
        peek = getattr(raw, "peek", None)
        head = peek(8)[:8] if peek is not None else b""
        if peek is not None and detect(head) is None:
            return scan_tar(raw, digests=digests, seekable=seekable)  # a plain tar: no copy
        return scan_tar(decompressor(raw), digests=digests)
    finally:
        raw.close()


def read_layers(
    layers: Sequence[Layer],
    *,
    digests: bool = False,
    verify: bool = False,
    source: BlobSource | None = None,
    progress: Progress | None = None,
) -> list[list[TarEntry]]:
    """The tar entries of every layer, in layer order (several layers read at once).

    When ``source`` (the layers' blob source) is the local store, blobs are read unhashed
    unless ``verify``; any other source verifies as it streams.
    """
    report = progress or NullProgress()

    def one(index: int) -> list[TarEntry]:
        layer = layers[index]
        key = str(layer.descriptor.digest)
        report.start(key, f"layer {index}", layer.descriptor.size)
        entries = _scan(layer, source, digests, verify)
        report.advance(key, layer.descriptor.size)
        report.finish(key, f"{len(entries)} entries")
        return entries

    workers = max(1, min(len(layers), os.cpu_count() or 1, 4))
    if workers == 1:
        return [one(i) for i in range(len(layers))]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="analyze") as pool:
        return cast(list[list[TarEntry]], list(pool.map(one, range(len(layers)))))
