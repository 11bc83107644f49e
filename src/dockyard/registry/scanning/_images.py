"""Which manifests are scanned: image manifests (with an image config) and the images an
index lists. Artifacts (signatures, SBOMs, attestations) are not images and are not scanned."""

from __future__ import annotations

from dockyard.errors import DockyardError
from dockyard.oci import Index, Manifest, Platform, mediatypes, parse_manifest_or_index
from dockyard.record import record
from dockyard.registry.metadata import ManifestRecord

__all__ = ["ScanTarget", "scan_target"]

_CONFIGS = frozenset({mediatypes.OCI_CONFIG, mediatypes.DOCKER_CONFIG})
_IMAGE_MANIFESTS = frozenset({mediatypes.OCI_MANIFEST, mediatypes.DOCKER_MANIFEST})


@record(frozen=True, slots=True)
class ScanTarget:
    """What a manifest means to the scanner: the image digests whose reports count."""

    digest: str
    is_index: bool
    #: (digest, platform) of each image; one entry, the manifest itself, for an image
    images: tuple[tuple[str, Platform | None], ...]


def scan_target(record: ManifestRecord) -> ScanTarget | None:
    """The images ``record`` stands for; None for anything that is not an image or index."""
    try:
        parsed = parse_manifest_or_index(record.content, record.media_type)
    except DockyardError:
        return None
    if isinstance(parsed, Manifest):
        if parsed.config.media_type not in _CONFIGS:
            return None
        return ScanTarget(record.digest, False, ((record.digest, None),))
    if not isinstance(parsed, Index):
        return None
    images = []
    for desc in parsed.manifests:
        if desc.media_type not in _IMAGE_MANIFESTS:
            continue
        annotations = desc.annotations or {}
        if "vnd.docker.reference.type" in annotations:  # buildx attestation manifests
            continue
        if desc.platform is not None and desc.platform.os == "unknown":
            continue
        images.append((str(desc.digest), desc.platform))
    return ScanTarget(record.digest, True, tuple(images))
