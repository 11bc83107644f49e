"""What the local image commands know about one image, gathered from the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from dockyard.digest import Digest
from dockyard.errors import DockyardError
from dockyard.image.blob import BlobImage, BlobIndex, open_any
from dockyard.image.store import StoreSource
from dockyard.local import PARENT_LABEL, LocalStore
from dockyard.oci import Descriptor, ImageConfig, Platform, parse_manifest_or_index
from dockyard.reference import Reference

__all__ = ["ImageSummary", "parse_time", "summaries"]


def parse_time(text: str | None) -> datetime | None:
    """RFC 3339 (with nanoseconds, as Go writes it) to an aware datetime."""
    if not text:
        return None
    value = text.strip().replace("Z", "+00:00")
    main, dot, rest = value.partition(".")
    if dot:
        frac = "".join(c for c in rest if c.isdigit())
        tz = rest[len(frac) :]
        value = f"{main}.{frac[:6]}{tz}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class ImageSummary:
    """One image in the store (a manifest, or an index for multi-platform images)."""

    id: Digest  # the image ID: config digest for a manifest, index digest for an index
    descriptor: Descriptor
    config: ImageConfig | None
    tags: list[Reference] = field(default_factory=list)
    digests: list[Reference] = field(default_factory=list)
    size: int = 0
    created: datetime | None = None
    last_used: datetime | None = None
    record_created: datetime | None = None
    parent: Digest | None = None

    @property
    def dangling(self) -> bool:
        return not self.tags

    @property
    def labels(self) -> dict[str, str]:
        return self.config.labels if self.config is not None else {}

    @property
    def diff_ids(self) -> list[Digest]:
        return self.config.diff_ids if self.config is not None else []


def _image_for(store: LocalStore, descriptor: Descriptor) -> tuple[ImageConfig | None, int]:
    root = open_any(StoreSource(store), descriptor)
    image: BlobImage | None
    if isinstance(root, BlobIndex):
        try:
            image = root.image(root.index().select(Platform.current()))
            image.manifest()
        except DockyardError:
            image = None
        if image is None:
            return None, descriptor.size
    else:
        image = root
    manifest = image.manifest()
    size = sum(layer.size for layer in manifest.layers)
    return image.config(), size


def _descriptor(store: LocalStore, digest: Digest) -> Descriptor:
    raw = store.content.read_bytes(digest)
    return parse_manifest_or_index(raw).descriptor()


def summaries(store: LocalStore) -> list[ImageSummary]:
    """Every image record in the store with its tags, newest first."""
    by_manifest: dict[Digest, ImageSummary] = {}
    for image in store.images():
        try:
            descriptor = _descriptor(store, image.manifest_digest)
            config, size = _image_for(store, descriptor)
        except DockyardError:
            continue  # a record whose blobs are gone: gc will take it
        parent_text = store.labels(image.manifest_digest).get(PARENT_LABEL)
        by_manifest[image.manifest_digest] = ImageSummary(
            id=image.config_digest or image.manifest_digest,
            descriptor=descriptor,
            config=config,
            size=size,
            created=parse_time(image.created) or image.recorded_at,
            last_used=image.last_used_at,
            record_created=image.recorded_at,
            parent=Digest.parse(parent_text) if parent_text else None,
        )
    for tag in store.tags():
        summary = by_manifest.get(tag.target.digest)
        if summary is None:
            continue
        if tag.ref.digest is not None and tag.ref.tag is None:
            summary.digests.append(tag.ref)
        else:
            summary.tags.append(tag.ref)
    result = list(by_manifest.values())
    for s in result:
        s.tags.sort(key=str)
    epoch = datetime.fromtimestamp(0, UTC)
    result.sort(key=lambda s: s.created or epoch, reverse=True)
    return result
