"""Writing signatures and attestations next to an image, in cosign's layouts.

Tag schema: the manifest tagged ``sha256-<hex>.sig`` (``.att``) in the image's repository has
one layer per signature; adding one keeps the others. Referrers: an OCI 1.1 artifact whose
``subject`` is the image; where the repository has no referrers API the ``sha256-<hex>`` index
tag is kept up to date instead (the OCI fallback, as go-containerregistry does for cosign).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dockyard.digest import Digest
from dockyard.errors import NotFound
from dockyard.oci import Descriptor, Index, Manifest, marshal_json
from dockyard.oci import mediatypes as mt
from dockyard.sign._layout_names import artifact_type, attachment_tag, referrers_fallback_tag
from dockyard.sign._repository import Repository

__all__ = ["Layer", "append_to_tag", "attach_referrer", "read_tag_layers"]

_ZERO_TIME = "0001-01-01T00:00:00Z"


@dataclass(frozen=True, slots=True)
class Layer:
    """One attached item: its blob bytes, media type and layer annotations."""

    blob: bytes
    media_type: str
    annotations: Mapping[str, str]

    def descriptor(self) -> Descriptor:
        d = Descriptor.of(self.blob, self.media_type)
        return Descriptor(d.media_type, d.digest, d.size, annotations=dict(self.annotations))


def _config(layers: list[Descriptor], now: datetime) -> bytes:
    """The config go-containerregistry writes for cosign's signature images."""
    obj: dict[str, Any] = {
        "architecture": "",
        "created": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "history": [{"created": _ZERO_TIME} for _ in layers],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": [str(d.digest) for d in layers]},
        "config": {},
    }
    return marshal_json(obj)


def read_tag_layers(
    repo: Repository, image: Digest, suffix: str
) -> tuple[Manifest | None, list[Descriptor]]:
    """The manifest at ``sha256-<hex>.<suffix>`` and its layers (none when the tag is absent)."""
    try:
        raw, media_type = repo.get_manifest(attachment_tag(image, suffix))
    except NotFound:
        return None, []
    manifest = Manifest.parse(raw, media_type)
    return manifest, list(manifest.layers)


def _same(a: Descriptor, b: Descriptor) -> bool:
    return a.digest == b.digest and (a.annotations or {}) == (b.annotations or {})


def append_to_tag(
    repo: Repository, image: Digest, suffix: str, layer: Layer, *, now: datetime | None = None
) -> Digest:
    """Add ``layer`` to the image's ``.<suffix>`` manifest (created when absent); an identical
    layer already there is not added twice. Returns the new manifest's digest."""
    _, existing = read_tag_layers(repo, image, suffix)
    new = layer.descriptor()
    layers = existing if any(_same(new, d) for d in existing) else [*existing, new]
    repo.put_blob(layer.blob)
    config = _config(layers, now or datetime.now(UTC))
    repo.put_blob(config)
    manifest = Manifest.build(Descriptor.of(config, mt.OCI_CONFIG), layers)
    repo.put_manifest(manifest.raw, manifest.media_type, attachment_tag(image, suffix))
    return manifest.digest


def attach_referrer(
    repo: Repository, subject: Descriptor, suffix: str, layer: Layer, *, now: datetime | None = None
) -> Digest:
    """Store ``layer`` as an OCI 1.1 referrer of ``subject`` (cosign's experimental OCI mode:
    the config's media type is the artifact type)."""
    kind = artifact_type(suffix)
    new = layer.descriptor()
    repo.put_blob(layer.blob)
    config = _config([new], now or datetime.now(UTC))
    repo.put_blob(config)
    manifest = Manifest.build(
        Descriptor.of(config, kind),
        [new],
        subject=Descriptor(subject.media_type, subject.digest, subject.size),
    )
    indexed = repo.put_manifest(manifest.raw, manifest.media_type)
    if not indexed:
        _update_fallback(repo, subject.digest, manifest, kind)
    return manifest.digest


def _update_fallback(repo: Repository, subject: Digest, manifest: Manifest, kind: str) -> None:
    tag = referrers_fallback_tag(subject)
    try:
        raw, media_type = repo.get_manifest(tag)
        entries = list(Index.parse(raw, media_type).manifests)
    except NotFound:
        entries = []
    if any(d.digest == manifest.digest for d in entries):
        return
    entry = Descriptor(manifest.media_type, manifest.digest, manifest.size, artifact_type=kind)
    index = Index.build([*entries, entry])
    repo.put_manifest(index.raw, index.media_type, tag)
