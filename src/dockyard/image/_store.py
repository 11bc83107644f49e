"""The local store as an image source and sink."""

from __future__ import annotations

from typing import BinaryIO

from dockyard.image._blob_image import BlobImage, BlobIndex, open_any
from dockyard.local import LocalStore
from dockyard.oci import Descriptor
from dockyard.reference import Reference

__all__ = ["StoreSource", "open_store_image"]


class StoreSource:
    """Blobs from the local content store, verified as they are read."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        return self.store.content.open(descriptor.digest, size=descriptor.size)

    def read_blob(self, descriptor: Descriptor) -> bytes:
        return self.store.content.read_bytes(descriptor.digest)


def open_store_image(store: LocalStore, ref: Reference) -> BlobImage | BlobIndex:
    """The image or index a reference names in the store (NotFound with docker's message)."""
    return open_any(StoreSource(store), store.resolve(ref))
