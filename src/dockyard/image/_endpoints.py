"""What ``copy`` reads from and writes to: the two small protocols every transport speaks."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO, Protocol

from dockyard.image._protocols import BlobSource
from dockyard.oci import Descriptor

__all__ = ["ImageDestination", "ImageSource", "OpenStream"]

#: Opens a fresh stream of one blob (called again when a transfer is retried).
OpenStream = Callable[[], BinaryIO]


class ImageSource(Protocol):
    """An image or index somewhere (registry, layout, archive, store) and its blobs."""

    @property
    def blobs(self) -> BlobSource: ...

    def root(self) -> tuple[Descriptor, bytes]:
        """The descriptor and raw bytes of the manifest or index named."""
        ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


class ImageDestination(Protocol):
    """Where a copy writes. Nothing is named (tagged) before :meth:`commit`."""

    #: May an index be written with only some of its platforms (the local store: yes)?
    keeps_partial_index: bool

    def describe(self) -> str: ...

    def has_blob(self, descriptor: Descriptor) -> bool: ...

    def mount_blob(self, descriptor: Descriptor, source: ImageSource) -> bool:
        """Link a blob from ``source`` without copying bytes (cross-repository mount)."""
        ...

    def put_blob(self, descriptor: Descriptor, open_stream: OpenStream) -> None:
        """Store one blob; the bytes are verified against ``descriptor`` before they count."""
        ...

    def put_manifest(self, descriptor: Descriptor, raw: bytes) -> None:
        """Store a manifest or index that the root refers to (by digest)."""
        ...

    def commit(self, root: Descriptor, raw: bytes) -> None:
        """Store the root manifest or index and give it its name (tag, index.json, tar)."""
        ...

    def close(self) -> None: ...
