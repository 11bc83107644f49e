"""Manifest validation: what a manifest PUT must satisfy before it is stored."""

from __future__ import annotations

import json

from dockyard.digest import SHA256, Digest
from dockyard.errors import DigestInvalid, ManifestBlobUnknown, ManifestInvalid
from dockyard.oci import Index, Manifest, mediatypes, parse_manifest_or_index
from dockyard.registry._names import is_digest, parse_digest
from dockyard.registry._validation import IndexValidation
from dockyard.registry.metadata import NewManifest, RegistryMetadata
from dockyard.registry.storage import StorageDriver, blob_key

__all__ = ["check_manifest"]

_SUPPORTED = "an OCI image manifest or index, or a Docker v2 schema 2 manifest or list"


def _declared(content_type: str | None) -> str:
    """The manifest media type a PUT declares in its Content-Type. One is required, as
    registry:2 requires it: guessing from the body would store content under a type no
    client asked for. (The body's own ``mediaType``, when it has one, must match it.)"""
    declared = mediatypes.base(content_type or "")
    if mediatypes.is_manifest(declared) or mediatypes.is_index(declared):
        return declared
    if not declared:
        raise ManifestInvalid(
            "the manifest PUT has no Content-Type",
            hint=f"send the manifest's media type as its Content-Type ({_SUPPORTED})",
        )
    raise ManifestInvalid(
        f"unsupported manifest media type {declared!r} (the PUT's Content-Type)",
        hint=f"send the manifest's media type as its Content-Type ({_SUPPORTED})",
    )


def check_manifest(
    meta: RegistryMetadata,
    repository: str,
    reference: str,
    body: bytes,
    content_type: str | None,
    storage: StorageDriver | None = None,
    indexes: IndexValidation | None = None,
) -> NewManifest:
    """Parse and validate a pushed manifest against what ``repository`` holds. With
    ``storage``, a blob counts as present only when its bytes are there too (a crash between
    recording a blob and renaming its file into place leaves a record without bytes).
    ``indexes`` says which children of an index must be there already (None: all); every child is
    recorded as a reference either way, so one pushed later is kept by garbage collection."""
    algorithm = parse_digest(reference).algorithm if is_digest(reference) else SHA256
    parsed = parse_manifest_or_index(body, _declared(content_type), algorithm=algorithm)
    if is_digest(reference) and str(parsed.digest) != reference:
        raise DigestInvalid(
            f"manifest content has digest {parsed.digest}, not {reference} as the URL says",
            detail={"expected": reference, "actual": str(parsed.digest)},
        )
    blobs: set[str] = set()
    children: set[str] = set()
    needed_blobs: frozenset[str] = frozenset()
    required: set[str] = set()
    if isinstance(parsed, Manifest):
        needed = [parsed.config, *(d for d in parsed.layers if not d.urls)]
        needed_blobs = frozenset(str(d.digest) for d in needed)
        blobs = set(needed_blobs)
        blobs.update(str(d.digest) for d in parsed.layers)
        present = meta.linked_blobs(repository, needed_blobs)
        if storage is not None:
            present = {d for d in present if storage.stat(blob_key(Digest.parse(d))) is not None}
        missing = set(needed_blobs - present)
        what = "blob"
        artifact_type: str | None = parsed.artifact_type or parsed.config.media_type
    else:
        children = {str(d.digest) for d in parsed.manifests}
        required = (indexes or IndexValidation()).required_children(parsed)
        missing = required - meta.existing_manifests(repository, required)
        what = "manifest"
        artifact_type = _index_artifact_type(parsed)
    if missing:
        first = sorted(missing)[0]
        raise ManifestBlobUnknown(
            f"manifest references {len(missing)} {what}(s) {repository} does not have, "
            f"e.g. {first}; push them first",
            detail={"digests": sorted(missing)},
        )
    return NewManifest(
        digest=str(parsed.digest),
        media_type=parsed.media_type,
        content=bytes(body),
        artifact_type=artifact_type,
        subject=str(parsed.subject.digest) if parsed.subject else None,
        annotations=json.dumps(parsed.annotations) if parsed.annotations else None,
        blobs=frozenset(blobs),
        children=frozenset(children),
        needed_blobs=needed_blobs,
        needed_children=frozenset(required),
    )


def _index_artifact_type(index: Index) -> str | None:
    return index.artifact_type
