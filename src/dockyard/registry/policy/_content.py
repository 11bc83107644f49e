"""One repository of the registry as the classifier's :class:`~dockyard.oci.classify.Content`:
what a policy asks "what is this manifest" with."""

from __future__ import annotations

from dockyard.digest import Digest
from dockyard.errors import DigestInvalid, NotFound
from dockyard.oci import Descriptor
from dockyard.oci.classify import MAX_ATTACHMENT_SIZE, Classification, classify
from dockyard.registry._registry import Registry
from dockyard.registry.metadata import ManifestRecord

__all__ = ["RepositoryContent", "classify_record"]


class RepositoryContent:
    """Manifests and blobs of ``repository`` only (read-only, blocking)."""

    def __init__(self, registry: Registry, repository: str) -> None:
        self.registry = registry
        self.repository = repository

    def manifest(self, digest: Digest) -> tuple[bytes, str] | None:
        try:
            record = self.registry.manifest(self.repository, str(digest))
        except NotFound:
            return None
        return record.content, record.media_type

    def blob(self, descriptor: Descriptor) -> bytes | None:
        if descriptor.size > MAX_ATTACHMENT_SIZE:
            return None
        try:
            handle = self.registry.blob(self.repository, descriptor.digest)
            with handle.open() as stream:
                data = stream.read(descriptor.size + 1)
            if len(data) != descriptor.size:
                return None
            descriptor.digest.verify(data)
        except (NotFound, DigestInvalid, OSError):
            return None
        return data


def classify_record(registry: Registry, repository: str, record: ManifestRecord) -> Classification:
    """What the manifest ``record`` of ``repository`` is, looking up what it lists there
    (raises ManifestInvalid for bytes that are no manifest)."""
    return classify(record.content, record.media_type, RepositoryContent(registry, repository))
