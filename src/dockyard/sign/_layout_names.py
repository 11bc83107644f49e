"""Names cosign gives to things attached to an image: tags, media types, annotations."""

from __future__ import annotations

from dockyard.digest import Digest

__all__ = [
    "BUNDLE_ANNOTATION",
    "DSSE_MEDIA_TYPE",
    "PREDICATE_TYPE_ANNOTATION",
    "SIGNATURE_ANNOTATION",
    "SIMPLESIGNING_MEDIA_TYPE",
    "artifact_type",
    "attachment_tag",
    "referrers_fallback_tag",
]

SIMPLESIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
PREDICATE_TYPE_ANNOTATION = "predicateType"


def attachment_tag(digest: Digest, suffix: str) -> str:
    """``sha256-<hex>.sig`` / ``.att`` / ``.sbom``: where cosign's tag schema keeps them."""
    return f"{digest.algorithm}-{digest.hex}.{suffix}"


def referrers_fallback_tag(digest: Digest) -> str:
    """The OCI 1.1 referrers tag schema: ``sha256-<hex>`` holds an index of referrers."""
    return f"{digest.algorithm}-{digest.hex}"


def artifact_type(suffix: str) -> str:
    """cosign's artifact type for an attachment kind (``sig``, ``att``, ``sbom``)."""
    return f"application/vnd.dev.cosign.artifact.{suffix}.v1+json"
