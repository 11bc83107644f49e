"""The local store as a blob source (:class:`StoreSource`, :func:`open_store_image`) and as a copy
source and destination (:class:`StoreImageSource`, :class:`StoreDestination`: what pull and push
use)."""

from __future__ import annotations

from contextlib import ExitStack
from typing import BinaryIO

from dockyard.content import ContentStore
from dockyard.digest import Digest
from dockyard.errors import DigestInvalid, FailedPrecondition, Unsupported
from dockyard.image._compression_policy import LayerCompression
from dockyard.image._endpoints import ImageSource, OpenStream
from dockyard.image.blob import BlobImage, BlobIndex, open_any
from dockyard.local import GC_REF_LABEL, LocalStore
from dockyard.oci import Descriptor, ImageConfig, Manifest, parse_manifest_or_index
from dockyard.reference import Reference

__all__ = [
    "StoreDestination",
    "StoreImageSource",
    "StoreLayerVariants",
    "StoreSource",
    "open_store_image",
]

#: Label on a layer naming its compressed variant (docker keeps the same cache). It is a gc
#: reference, so the variant lives exactly as long as the layer does.
VARIANT_LABEL = GC_REF_LABEL + "variant."


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


class StoreImageSource:
    def __init__(self, store: LocalStore, ref: Reference) -> None:
        self.store = store
        self.ref = ref
        self._blobs = StoreSource(store)

    @property
    def blobs(self) -> StoreSource:
        return self._blobs

    def describe(self) -> str:
        return self.ref.familiar

    def root(self) -> tuple[Descriptor, bytes]:
        descriptor = self.store.resolve(self.ref)
        return descriptor, self._blobs.read_blob(descriptor)

    def layer_variants(self) -> StoreLayerVariants:
        """Push keeps the layers it compresses in the store, so the next push reuses them."""
        return StoreLayerVariants(self.store)

    def close(self) -> None:
        pass


class StoreLayerVariants:
    """Converted layers in the local store (under a lease while a copy writes them), each
    recorded by a label on the layer it came from."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self._stack = ExitStack()
        self._lease = self._stack.enter_context(store.lease(description="compressed layers"))

    @property
    def content(self) -> ContentStore:
        return self.store.content

    def recall(self, layer: Digest, compression: LayerCompression) -> tuple[Digest, int] | None:
        value = self.store.labels(layer).get(_variant_label(compression))
        if value is None:
            return None
        try:
            variant = Digest.parse(value)
        except (DigestInvalid, Unsupported):
            return None
        self._lease.add(variant)
        if not self.store.content.exists(variant):
            return None
        return variant, self.store.content.size(variant)

    def remember(self, layer: Digest, compression: LayerCompression, variant: Digest) -> None:
        self._lease.add(variant)
        self.store.set_labels(layer, {_variant_label(compression): str(variant)})

    def close(self) -> None:
        self._stack.close()


def _variant_label(compression: LayerCompression) -> str:
    return VARIANT_LABEL + (compression or "tar")


class StoreDestination:
    """Writes under a lease (a concurrent gc leaves the blobs alone); :meth:`commit` records
    the image, sets its tags and its ``name@digest`` (docker's RepoDigests)."""

    keeps_partial_index = True

    def __init__(
        self,
        store: LocalStore,
        names: list[Reference],
        *,
        digest_names: list[Reference] | None = None,
    ) -> None:
        self.store = store
        self.names = names
        self.digest_names = digest_names or []
        self._stack = ExitStack()
        self.lease = self._stack.enter_context(store.lease(description="pull"))

    def describe(self) -> str:
        return ", ".join(n.familiar for n in self.names) or "the local store"

    def has_blob(self, descriptor: Descriptor) -> bool:
        if self.store.content.exists(descriptor.digest):
            self.lease.add(descriptor.digest)
            return self.store.content.exists(descriptor.digest)
        return False

    def mount_blob(self, descriptor: Descriptor, source: ImageSource) -> bool:
        return False

    def put_blob(self, descriptor: Descriptor, open_stream: OpenStream) -> None:
        with open_stream() as stream:
            self.lease.ingest(stream, expected=descriptor.digest, size=descriptor.size)

    def put_manifest(self, descriptor: Descriptor, raw: bytes) -> None:
        self.lease.put_bytes(raw, expected=descriptor.digest)

    def commit(self, root: Descriptor, raw: bytes) -> None:
        if self.lease.released:
            raise FailedPrecondition("the store lease of this copy has already ended")
        self.put_manifest(root, raw)
        parsed = parse_manifest_or_index(raw, root.media_type)
        config_digest = None
        created = None
        if isinstance(parsed, Manifest):
            config_digest = parsed.config.digest
            created = ImageConfig.parse(self.store.content.read_bytes(config_digest)).created
        self.store.record_image(root.digest, config_digest, created)
        for name in self.names:
            self.store.set_tag(name, root)
        for name in self.digest_names:
            self.store.set_tag(name.without_tag_or_digest().with_digest(root.digest), root)

    def close(self) -> None:
        self._stack.close()
