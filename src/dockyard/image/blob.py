"""One Image/Index implementation over any :class:`BlobSource` (store, layout, registry)."""

from __future__ import annotations

from functools import cached_property
from typing import BinaryIO

from dockyard.digest import Digest
from dockyard.errors import ManifestInvalid, NotFound, Unsupported
from dockyard.image._protocols import BlobSource, Layer
from dockyard.layers import decompressor
from dockyard.oci import (
    Descriptor,
    ImageConfig,
    Index,
    Manifest,
    mediatypes,
    parse_manifest_or_index,
)


class BlobLayer:
    __slots__ = ("_descriptor", "_diff_id", "_source")

    def __init__(self, source: BlobSource, descriptor: Descriptor, diff_id: Digest) -> None:
        self._source = source
        self._descriptor = descriptor
        self._diff_id = diff_id

    @property
    def descriptor(self) -> Descriptor:
        return self._descriptor

    @property
    def diff_id(self) -> Digest:
        return self._diff_id

    def compressed(self) -> BinaryIO:
        return self._source.open_blob(self._descriptor)

    def uncompressed(self) -> BinaryIO:
        return decompressor(self.compressed())


class _Root:
    """What an image and an index share: a source, a descriptor, and the bytes it names."""

    def __init__(
        self, source: BlobSource, descriptor: Descriptor, raw: bytes | None = None
    ) -> None:
        self.source = source
        self._descriptor = descriptor
        self._raw = raw

    def descriptor(self) -> Descriptor:
        return self._descriptor

    def _parsed(self) -> Manifest | Index:
        raw = self._raw if self._raw is not None else self.source.read_blob(self._descriptor)
        return parse_manifest_or_index(raw, self._descriptor.media_type)


class BlobImage(_Root):
    """An image manifest and everything it points at, read lazily from a blob source."""

    @cached_property
    def _manifest(self) -> Manifest:
        parsed = self._parsed()
        if not isinstance(parsed, Manifest):
            raise ManifestInvalid(f"{self._descriptor.digest} is an index, not an image manifest")
        return parsed

    def manifest(self) -> Manifest:
        return self._manifest

    @cached_property
    def _config(self) -> ImageConfig:
        return ImageConfig.parse(self.source.read_blob(self._manifest.config))

    def config(self) -> ImageConfig:
        return self._config

    def layers(self) -> list[Layer]:
        manifest = self._manifest
        diff_ids = self._config.diff_ids
        if len(diff_ids) != len(manifest.layers):
            raise ManifestInvalid(
                f"image {self._descriptor.digest} has {len(manifest.layers)} layers but its config "
                f"lists {len(diff_ids)} diff_ids"
            )
        return [
            BlobLayer(self.source, d, i) for d, i in zip(manifest.layers, diff_ids, strict=True)
        ]


class BlobIndex(_Root):
    """An index (manifest list) whose children are read from the same source."""

    @cached_property
    def _index(self) -> Index:
        parsed = self._parsed()
        if not isinstance(parsed, Index):
            raise ManifestInvalid(f"{self._descriptor.digest} is an image manifest, not an index")
        return parsed

    def index(self) -> Index:
        return self._index

    def image(self, descriptor: Descriptor) -> BlobImage:
        return BlobImage(self.source, descriptor)


def open_any(source: BlobSource, descriptor: Descriptor) -> BlobImage | BlobIndex:
    """Open whatever a descriptor points at, by what its bytes say."""
    raw = source.read_blob(descriptor)
    parsed = parse_manifest_or_index(raw, descriptor.media_type)
    if isinstance(parsed, Manifest):
        return BlobImage(source, descriptor, raw)
    if isinstance(parsed, Index):
        return BlobIndex(source, descriptor, raw)
    raise Unsupported(f"{descriptor.digest}: unsupported media type {descriptor.media_type}")


def reachable(source: BlobSource, descriptor: Descriptor) -> set[Digest]:
    """Digests of every blob ``descriptor`` leads to in ``source`` (itself included).

    Children an index names but the source does not hold (platforms never pulled) are skipped.
    """
    seen: set[Digest] = set()
    stack = [descriptor]
    while stack:
        current = stack.pop()
        if current.digest in seen:
            continue
        seen.add(current.digest)
        if not (
            mediatypes.is_manifest(current.media_type) or mediatypes.is_index(current.media_type)
        ):
            continue
        try:
            parsed = parse_manifest_or_index(source.read_blob(current), current.media_type)
        except NotFound:
            if current is descriptor:
                raise
            seen.discard(current.digest)
            continue
        if isinstance(parsed, Index):
            stack.extend(parsed.manifests)
        else:
            stack.append(parsed.config)
            stack.extend(parsed.layers)
    return seen
