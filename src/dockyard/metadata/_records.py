"""Plain records read back from the metadata database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from dockyard.digest import Digest
from dockyard.oci import Descriptor
from dockyard.reference import Reference

__all__ = ["ImageRecord", "LeaseRecord", "TagRecord", "from_timestamp"]


def from_timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class TagRecord:
    """A name (tag or digest reference) pointing at a manifest or index."""

    ref: Reference
    target: Descriptor
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ImageRecord:
    """An image (manifest or index) in the store, tagged or not."""

    manifest_digest: Digest
    config_digest: Digest | None  # the image ID; None for an index
    created: str | None  # the config's "created" field as written
    recorded_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class LeaseRecord:
    """A lease keeps blobs from garbage collection until it is released or expires."""

    id: str
    created_at: datetime
    expires_at: datetime
    pid: int
    description: str
    digests: tuple[Digest, ...]
