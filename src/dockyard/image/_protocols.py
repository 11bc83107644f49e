"""The small read-only protocols every image source speaks (after go-containerregistry)."""

from __future__ import annotations

from typing import BinaryIO, Protocol, runtime_checkable

from dockyard.digest import Digest
from dockyard.oci import Descriptor, ImageConfig, Index, Manifest


@runtime_checkable
class BlobSource(Protocol):
    """Anything that can hand out blobs by digest: a store, a layout, a registry."""

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        """A stream of the blob's bytes; the stream verifies them as it is read."""
        ...

    def read_blob(self, descriptor: Descriptor) -> bytes:
        """The whole (small) blob, verified; for manifests and configs."""
        ...


class Layer(Protocol):
    @property
    def descriptor(self) -> Descriptor: ...

    @property
    def diff_id(self) -> Digest: ...

    def compressed(self) -> BinaryIO:
        """The blob as stored (maybe gzip or zstd)."""
        ...

    def uncompressed(self) -> BinaryIO:
        """The layer tar."""
        ...


class Image(Protocol):
    def descriptor(self) -> Descriptor: ...
    def manifest(self) -> Manifest: ...
    def config(self) -> ImageConfig: ...
    def layers(self) -> list[Layer]: ...


class ImageIndex(Protocol):
    def descriptor(self) -> Descriptor: ...
    def index(self) -> Index: ...
    def image(self, descriptor: Descriptor) -> Image: ...
