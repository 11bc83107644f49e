"""RegistryBlobs: the registry's storage as a :class:`dockyard.image.BlobSource`, so the
scanner reads an image's layers straight from where the registry keeps them."""

from __future__ import annotations

import io
from typing import BinaryIO

from dockyard.content import VerifyingReader
from dockyard.digest import Digester
from dockyard.errors import BlobUnknown, DigestInvalid, ManifestUnknown, NotFound
from dockyard.oci import Descriptor, mediatypes
from dockyard.registry._registry import Registry
from dockyard.registry.scanning._blobfiles import VerifyingStream
from dockyard.registry.storage import blob_key

__all__ = ["RegistryBlobs"]

_MANIFEST_TYPES = frozenset(
    {
        mediatypes.OCI_MANIFEST,
        mediatypes.OCI_INDEX,
        mediatypes.DOCKER_MANIFEST,
        mediatypes.DOCKER_MANIFEST_LIST,
    }
)


class RegistryBlobs:
    """Blobs of one repository: manifests from the metadata database, everything else from
    the storage driver; every read is checked against its digest."""

    def __init__(self, registry: Registry, repository: str) -> None:
        self.registry = registry
        self.repository = repository

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        if descriptor.media_type in _MANIFEST_TYPES:
            return io.BytesIO(self.read_blob(descriptor))
        key = blob_key(descriptor.digest)
        storage = self.registry.storage
        path = storage.local_path(key)
        if path is not None:
            try:
                raw = VerifyingReader(path, descriptor.digest, descriptor.size)
            except FileNotFoundError as exc:
                raise BlobUnknown(
                    f"blob {descriptor.digest} is not in the registry's storage"
                ) from exc
            return io.BufferedReader(raw, 1 << 20)
        try:
            stream = storage.reader(key)
        except NotFound as exc:
            raise BlobUnknown(f"blob {descriptor.digest} is not in the registry's storage") from exc
        return io.BufferedReader(
            VerifyingStream(stream, descriptor.digest, descriptor.size), 1 << 20
        )

    def read_blob(self, descriptor: Descriptor) -> bytes:
        digest = descriptor.digest
        if descriptor.media_type in _MANIFEST_TYPES:
            record = self.registry.meta.manifest_by_digest(self.repository, str(digest))
            if record is None:
                raise ManifestUnknown(f"manifest {digest} is unknown to {self.repository}")
            data = record.content
        else:
            with self.registry.storage.reader(blob_key(digest)) as f:
                data = f.read()
        hasher = Digester(digest.algorithm)
        hasher.update(data)
        if hasher.digest() != digest:
            raise DigestInvalid(
                f"blob {digest} in the registry's storage does not match its digest"
            )
        return data
