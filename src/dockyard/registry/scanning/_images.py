"""Which manifests are scanned: runnable images and the images an index lists, as the shared
classifier (:mod:`dockyard.oci.classify`) tells them from their content. Artifacts
(signatures, SBOMs, attestations) are not images and are not scanned."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.errors import DockyardError
from dockyard.oci import Platform, mediatypes
from dockyard.oci.classify import Child, Content, Kind, classify
from dockyard.registry.metadata import ManifestRecord

__all__ = ["ScanTarget", "scan_target"]


@dataclass(frozen=True, slots=True)
class ScanTarget:
    """What a manifest means to the scanner: the image digests whose reports count."""

    digest: str
    is_index: bool
    #: (digest, platform) of each image; one entry, the manifest itself, for an image
    images: tuple[tuple[str, Platform | None], ...]


def scan_target(record: ManifestRecord, content: Content | None = None) -> ScanTarget | None:
    """The images ``record`` stands for; None for anything that is not an image or index.
    With ``content`` (its repository), what an image-config manifest holds and what an index
    lists are looked at too, so that cosign's signature images and buildx's attestation
    manifests are told from images by their bytes."""
    try:
        what = classify(record.content, record.media_type, content)
    except DockyardError:
        return None
    if what.kind is Kind.IMAGE:
        return ScanTarget(record.digest, False, ((record.digest, None),))
    if what.kind is Kind.ARTIFACT_INDEX and not what.children:
        return ScanTarget(record.digest, True, ())  # an empty index: nothing to scan
    if not what.runnable:
        return None
    images = tuple(
        (str(child.descriptor.digest), child.descriptor.platform)
        for child in what.children
        if _is_image(child)
    )
    return ScanTarget(record.digest, True, images)


def _is_image(child: Child) -> bool:
    desc = child.descriptor
    if not mediatypes.is_manifest(desc.media_type):
        return False  # a nested index is scanned as itself
    if child.classification is not None:
        return child.classification.runnable
    # not looked up: buildx's attestation manifests and its unknown/unknown entries are no images
    if "vnd.docker.reference.type" in (desc.annotations or {}):
        return False
    return desc.platform is None or desc.platform.os != "unknown"
