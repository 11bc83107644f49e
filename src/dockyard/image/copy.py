"""``copy(src, dst)``: one function for every pair of image locations.

Blobs move in parallel (a bounded thread pool), each verified against its digest; blobs the
destination already has are skipped, and registries may mount them from another repository.
By default bytes are copied as they are, so manifest digests (and signatures over them) survive;
a :class:`CompressionPolicy` compresses plain tar layers on the way (what ``docker push`` does)
or converts every layer (buildx's ``force-compression``), rewriting the manifests that name them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

from dockyard.content import vouched
from dockyard.digest import Digest
from dockyard.errors import DockyardError, InvalidArgument
from dockyard.image._compression_policy import CompressionPolicy
from dockyard.image._endpoints import ImageDestination, ImageSource
from dockyard.image._protocols import BlobSource
from dockyard.image._recompress import Recompressor
from dockyard.oci import Descriptor, Index, Manifest, Platform, parse_manifest_or_index
from dockyard.progress import NullProgress, Progress

__all__ = ["CopyResult", "copy"]

BLOB_ATTEMPTS = 3
DEFAULT_JOBS = 6


@dataclass
class CopyResult:
    #: What the destination now holds at its name.
    descriptor: Descriptor
    copied: list[Digest] = field(default_factory=list)
    skipped: list[Digest] = field(default_factory=list)
    mounted: list[Digest] = field(default_factory=list)

    @property
    def digest(self) -> Digest:
        return self.descriptor.digest


@dataclass
class _Plan:
    root: Descriptor
    root_raw: bytes
    manifests: list[tuple[Descriptor, bytes]]  # children, written before the root
    blobs: list[Descriptor]
    images: list[Manifest]


def copy(
    src: ImageSource,
    dst: ImageDestination,
    *,
    all_platforms: bool = False,
    platform: Platform | None = None,
    jobs: int = DEFAULT_JOBS,
    progress: Progress | None = None,
    compression: CompressionPolicy | None = None,
) -> CopyResult:
    """Copy the image ``src`` names to ``dst``. From an index, ``all_platforms`` copies every
    platform (the index keeps its digest); otherwise one platform (``platform``, default this
    machine's) is chosen as docker does. ``compression`` (default: none) says what to do to
    layer compression on the way."""
    progress = progress or NullProgress()
    plan = _plan(src, dst, all_platforms, platform)
    recompressor = Recompressor(src, plan.images, compression or CompressionPolicy(None))
    try:
        return _run(src, dst, plan, recompressor, jobs, progress)
    finally:
        recompressor.close()


def _run(
    src: ImageSource,
    dst: ImageDestination,
    plan: _Plan,
    recompressor: Recompressor,
    jobs: int,
    progress: Progress,
) -> CopyResult:
    copied: list[Digest] = []
    skipped: list[Digest] = []
    mounted: list[Digest] = []
    lock = threading.Lock()

    def one(blob: Descriptor) -> None:
        if recompressor.converts(blob):
            blob = _convert(recompressor, blob, progress)
            outcome = _copy_blob(recompressor.blobs, None, dst, blob, progress)
        else:
            outcome = _copy_blob(src.blobs, src, dst, blob, progress)
        with lock:
            {"copied": copied, "skipped": skipped, "mounted": mounted}[outcome].append(blob.digest)

    if plan.blobs:
        with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(plan.blobs)))) as pool:
            futures = [pool.submit(one, blob) for blob in plan.blobs]
            errors = [f.exception() for f in futures]
        for error in errors:
            if error is not None:
                raise error
    root, root_raw, manifests = recompressor.rewrite(plan.root, plan.root_raw, plan.manifests)
    for descriptor, raw in manifests:
        dst.put_manifest(descriptor, raw)
    dst.commit(root, root_raw)
    progress.message(f"Digest: {root.digest}")
    return CopyResult(root, copied, skipped, mounted)


def _convert(recompressor: Recompressor, layer: Descriptor, progress: Progress) -> Descriptor:
    """Compress one layer (unless an earlier copy did), with its own progress bar."""
    key = f"{layer.digest.short}/compress"
    started = False

    def counted(stream: BinaryIO) -> BinaryIO:
        nonlocal started
        started = True
        progress.start(key, f"{layer.digest.short} (compressing)", layer.size)
        return _Counted(stream, progress, key)  # type: ignore[return-value]

    try:
        converted, _ = recompressor.convert(layer, counted)
    except BaseException:
        if started:
            progress.finish(key, "Failed")
        raise
    if started:
        progress.finish(key, f"Compressed to {converted.digest.short}")
    return converted


def _plan(
    src: ImageSource, dst: ImageDestination, all_platforms: bool, platform: Platform | None
) -> _Plan:
    root, raw = src.root()
    parsed = parse_manifest_or_index(raw, root.media_type)
    manifests: list[tuple[Descriptor, bytes]] = []
    images: list[Manifest] = []
    if isinstance(parsed, Index) and not all_platforms:
        chosen = parsed.select(platform or Platform.current())
        child_raw = src.blobs.read_blob(chosen)
        child = parse_manifest_or_index(child_raw, chosen.media_type)
        if not isinstance(child, Manifest):
            raise InvalidArgument(f"{src.describe()}: platform entry {chosen.digest} is an index")
        images.append(child)
        if dst.keeps_partial_index:
            manifests.append((chosen, child_raw))
        else:
            root, raw = _bare(chosen), child_raw
    elif isinstance(parsed, Index):
        for descriptor, child_raw, child in _walk(src, parsed):
            manifests.append((descriptor, child_raw))
            if isinstance(child, Manifest):
                images.append(child)
    else:
        images.append(parsed)
    seen: set[Digest] = set()
    blobs: list[Descriptor] = []
    for image in images:
        for blob in [image.config, *image.layers]:
            if blob.digest in seen or blob.urls:
                continue  # non-distributable layers stay where their URLs say
            seen.add(blob.digest)
            blobs.append(blob)
    return _Plan(root, raw, manifests, blobs, images)


def _bare(descriptor: Descriptor) -> Descriptor:
    return Descriptor(
        media_type=descriptor.media_type, digest=descriptor.digest, size=descriptor.size
    )


def _walk(src: ImageSource, index: Index) -> Iterator[tuple[Descriptor, bytes, Manifest | Index]]:
    """Children of an index, depth first, children before the indexes that name them."""
    for descriptor in index.manifests:
        raw = src.blobs.read_blob(descriptor)
        parsed = parse_manifest_or_index(raw, descriptor.media_type)
        if isinstance(parsed, Index):
            yield from _walk(src, parsed)
        yield descriptor, raw, parsed


def _copy_blob(
    blobs: BlobSource,
    mount_from: ImageSource | None,
    dst: ImageDestination,
    blob: Descriptor,
    progress: Progress,
) -> str:
    """Copy one blob from ``blobs``; ``mount_from`` is the source a registry may mount from."""
    key = blob.digest.short
    if dst.has_blob(blob):
        progress.start(key, f"{key}", blob.size)
        progress.finish(key, "Already exists")
        return "skipped"
    if mount_from is not None and dst.mount_blob(blob, mount_from):
        progress.start(key, f"{key}", blob.size)
        progress.finish(key, "Mounted")
        return "mounted"
    progress.start(key, f"{key}", blob.size)
    counted: list[_Counted] = []

    def open_stream() -> BinaryIO:
        for old in counted:  # a retry starts over: take back what the bar showed
            progress.advance(key, -old.count)
            old.count = 0
        stream = _Counted(blobs.open_blob(blob), progress, key)
        counted.append(stream)
        return stream  # type: ignore[return-value]

    attempt = 0
    while True:
        attempt += 1
        try:
            dst.put_blob(blob, open_stream)
            break
        except DockyardError as exc:
            if not exc.retryable or attempt >= BLOB_ATTEMPTS:
                progress.finish(key, "Failed")
                raise
            progress.message(f"{key}: {exc}; retrying")
            for old in counted:
                progress.advance(key, -old.count)
                old.count = 0
    progress.finish(key, "Done")
    return "copied"


class _Counted:
    """A blob stream that reports the bytes read to the progress bar."""

    def __init__(self, stream: BinaryIO, progress: Progress, key: str) -> None:
        self.stream = stream
        self.progress = progress
        self.key = key
        self.count = 0

    @property
    def vouched(self) -> tuple[Digest, int] | None:
        """What the stream under this one vouches for (see ``dockyard.content._reader.vouched``)."""
        return vouched(self.stream)

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self._advance(len(data))
        return data

    def readinto(self, buffer: memoryview | bytearray) -> int:
        n = self.stream.readinto(buffer)  # type: ignore[attr-defined]
        self._advance(n or 0)
        return n or 0

    def _advance(self, n: int) -> None:
        if n:
            self.count += n
            self.progress.advance(self.key, n)

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> _Counted:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
