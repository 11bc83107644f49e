"""Putting what an upstream sent into the mirror's own registry, verified.

A pushed manifest must find its blobs in the repository already; a cached one cannot (they are
fetched when a client asks for them), so cached manifests are recorded directly, with the same
references a push records, after their digest is checked.
"""

from __future__ import annotations

import json

from dockyard.digest import Digest
from dockyard.errors import DigestInvalid, DockyardError, ManifestInvalid
from dockyard.oci import Manifest, mediatypes, parse_manifest_or_index
from dockyard.registry._registry import Registry
from dockyard.registry.metadata import NewManifest

__all__ = ["store_manifest"]


def store_manifest(
    registry: Registry,
    repository: str,
    body: bytes,
    content_type: str | None,
    expected: str | None,
    tag: str | None,
) -> str:
    """Record ``body`` in ``repository`` (and point ``tag`` at it); its digest. ``expected``
    (the digest the client asked for, or the upstream's Docker-Content-Digest) must match."""
    declared: str | None = mediatypes.base(content_type or "") or None
    if declared is not None and not (
        mediatypes.is_manifest(declared) or mediatypes.is_index(declared)
    ):
        declared = None  # e.g. application/json: the body's own mediaType decides
    algorithm = Digest.parse(expected).algorithm if expected else "sha256"
    try:
        parsed = parse_manifest_or_index(body, declared, algorithm=algorithm)
    except DockyardError as exc:
        raise ManifestInvalid(
            f"the upstream sent a manifest the mirror cannot read: {exc}"
        ) from exc
    digest = str(parsed.digest)
    if expected is not None and digest != expected:
        raise DigestInvalid(
            f"the upstream sent a manifest with digest {digest}, not {expected}; nothing is cached",
            detail={"expected": expected, "actual": digest},
        )
    if isinstance(parsed, Manifest):
        blobs = frozenset(str(d.digest) for d in [parsed.config, *parsed.layers])
        children: frozenset[str] = frozenset()
        artifact_type: str | None = parsed.artifact_type or parsed.config.media_type
    else:
        blobs = frozenset()
        children = frozenset(str(d.digest) for d in parsed.manifests)
        artifact_type = parsed.artifact_type
    new = NewManifest(
        digest=digest,
        media_type=parsed.media_type,
        content=bytes(body),
        artifact_type=artifact_type,
        subject=str(parsed.subject.digest) if parsed.subject else None,
        annotations=json.dumps(parsed.annotations) if parsed.annotations else None,
        blobs=blobs,
        children=children,
    )
    registry.cache.invalidate(repository)
    try:
        registry.meta.put_manifest(repository, new, (tag,) if tag else ())
    finally:
        registry.cache.invalidate(repository)
        if registry.shared is not None:
            registry.shared.bump(repository)
    return digest
