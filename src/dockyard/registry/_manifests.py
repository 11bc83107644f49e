"""Manifest validation: what a manifest PUT must satisfy before it is stored."""

from __future__ import annotations

import json

from dockyard.digest import SHA256
from dockyard.errors import DigestInvalid, ManifestBlobUnknown, ManifestInvalid
from dockyard.oci import Index, Manifest, mediatypes, parse_manifest_or_index
from dockyard.registry._names import is_digest, parse_digest
from dockyard.registry.metadata import NewManifest, RegistryMetadata

__all__ = ["MAX_MANIFEST_SIZE", "check_manifest"]

#: The largest manifest accepted (distribution and most registries use 4 MiB).
MAX_MANIFEST_SIZE = 4 * 1024 * 1024

_GENERIC_TYPES = frozenset({"", "application/json", "application/octet-stream", "text/plain"})


def _declared(content_type: str | None) -> str | None:
    """The media type a PUT declares, or None when it declares nothing useful."""
    declared = mediatypes.base(content_type or "")
    if declared in _GENERIC_TYPES:
        return None
    if mediatypes.is_manifest(declared) or mediatypes.is_index(declared):
        return declared
    raise ManifestInvalid(
        f"unsupported manifest media type {declared!r}",
        hint="push an OCI image manifest or index, or a Docker v2 schema 2 manifest or list",
    )


def check_manifest(
    meta: RegistryMetadata, repository: str, reference: str, body: bytes, content_type: str | None
) -> NewManifest:
    """Parse and validate a pushed manifest against what ``repository`` holds."""
    algorithm = parse_digest(reference).algorithm if is_digest(reference) else SHA256
    parsed = parse_manifest_or_index(body, _declared(content_type), algorithm=algorithm)
    if is_digest(reference) and str(parsed.digest) != reference:
        raise DigestInvalid(
            f"manifest content has digest {parsed.digest}, not {reference} as the URL says",
            detail={"expected": reference, "actual": str(parsed.digest)},
        )
    blobs: set[str] = set()
    children: set[str] = set()
    if isinstance(parsed, Manifest):
        needed = [parsed.config, *(d for d in parsed.layers if not d.urls)]
        blobs = {str(d.digest) for d in needed}
        blobs.update(str(d.digest) for d in parsed.layers)
        missing = {str(d.digest) for d in needed} - meta.linked_blobs(repository, blobs)
        what = "blob"
        artifact_type: str | None = parsed.artifact_type or parsed.config.media_type
    else:
        children = {str(d.digest) for d in parsed.manifests}
        missing = children - meta.existing_manifests(repository, children)
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
    )


def _index_artifact_type(index: Index) -> str | None:
    return index.artifact_type
