"""Plain records the metadata store returns."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ManifestRecord", "NewManifest", "ReferrerRecord", "UploadRecord"]


@dataclass(frozen=True, slots=True)
class ManifestRecord:
    digest: str
    media_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class NewManifest:
    """A validated manifest about to be stored, with what it points at."""

    digest: str
    media_type: str
    content: bytes
    artifact_type: str | None
    subject: str | None
    annotations: str | None
    blobs: frozenset[str]
    children: frozenset[str]
    #: what was checked present in the repository before the push stored it (blobs, and an
    #: index's required children): checked again in the transaction that stores it, since a
    #: garbage collection, on any replica, may have deleted them in between
    needed_blobs: frozenset[str] = frozenset()
    needed_children: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ReferrerRecord:
    digest: str
    media_type: str
    size: int
    artifact_type: str | None
    annotations: str | None


@dataclass(frozen=True, slots=True)
class UploadRecord:
    id: str
    repository: str
    offset: int
    started_at: float
