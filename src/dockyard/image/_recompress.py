"""Compress (or convert) layers during a copy, then rewrite the manifests that name them.

``docker push`` gzips the plain tar layers of an image on the way out; buildx's
``compression=``/``force-compression=`` choose the algorithm and whether already compressed layers
are converted too. Configs are never touched (diff_ids name the uncompressed tars), so image IDs
stay; manifests whose layers change get new digests, and so do the indexes above them.
Every converted layer is checked against its diff_id before it is used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from dockyard.digest import Digest
from dockyard.errors import DockyardError, InvalidArgument, ManifestInvalid
from dockyard.image._compression_policy import (
    CompressionPolicy,
    LayerCompression,
    as_oci,
    layer_media_type,
    oci_layer_media_type,
)
from dockyard.image._endpoints import ImageSource
from dockyard.image._layer_variants import KeepsLayerVariants, LayerVariants, ScratchVariants
from dockyard.oci import Descriptor, ImageConfig, Index, Manifest, parse_manifest_or_index
from dockyard.oci import mediatypes as mt

__all__ = ["Recompressor"]

#: Index entry annotation BuildKit uses to tie an attestation manifest to its image.
_REFERENCE_DIGEST = "vnd.docker.reference.digest"


@dataclass(frozen=True, slots=True)
class _Job:
    target: LayerCompression
    diff_id: Digest


class _ContentBlobs:
    """The converted layers, as a :class:`~dockyard.image.BlobSource`."""

    def __init__(self, variants: LayerVariants) -> None:
        self._variants = variants

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        return self._variants.content.open(descriptor.digest, size=descriptor.size)

    def read_blob(self, descriptor: Descriptor) -> bytes:
        return self._variants.content.read_bytes(descriptor.digest)


class Recompressor:
    """One copy's layer conversions: which layers, the converted blobs, the new manifests."""

    def __init__(self, src: ImageSource, images: list[Manifest], policy: CompressionPolicy) -> None:
        self._src = src
        self._jobs = _jobs(src, images, policy)
        self._done: dict[Digest, tuple[Digest, int]] = {}
        self._lock = threading.Lock()
        self._variants: LayerVariants | None = None
        if self._jobs:
            self._variants = (
                src.layer_variants() if isinstance(src, KeepsLayerVariants) else ScratchVariants()
            )
            self.blobs = _ContentBlobs(self._variants)

    def converts(self, blob: Descriptor) -> bool:
        return blob.digest in self._jobs

    def convert(
        self, layer: Descriptor, wrap: Callable[[BinaryIO], BinaryIO] = lambda s: s
    ) -> tuple[Descriptor, bool]:
        """The converted blob of ``layer`` (made now, or found from an earlier copy) and
        whether it was made now; ``wrap`` sees the source stream (for progress)."""
        assert self._variants is not None
        job = self._jobs[layer.digest]
        found = self._variants.recall(layer.digest, job.target)
        made = found is None
        if found is None:
            found = self._write(layer, job, wrap)
        with self._lock:
            self._done[layer.digest] = found
        digest, size = found
        return Descriptor(oci_layer_media_type(job.target), digest, size), made

    def _write(
        self, layer: Descriptor, job: _Job, wrap: Callable[[BinaryIO], BinaryIO]
    ) -> tuple[Digest, int]:
        from dockyard.layers import decompressor, write_layer  # the compressors, only if needed

        assert self._variants is not None
        with wrap(self._src.blobs.open_blob(layer)) as raw:
            declared = mt.layer_compression(layer.media_type)
            tar = raw if declared is None else decompressor(raw)
            blob = write_layer(tar, self._variants.content, job.target)
        if blob.diff_id != job.diff_id:
            raise InvalidArgument(
                f"layer {layer.digest} does not hold the tar its image config names "
                f"({job.diff_id}; its content is {blob.diff_id}): the image is broken; copy it "
                "with --compression none to keep its bytes as they are"
            )
        self._variants.remember(layer.digest, job.target, blob.digest)
        return blob.digest, blob.size

    def rewrite(
        self, root: Descriptor, root_raw: bytes, manifests: list[tuple[Descriptor, bytes]]
    ) -> tuple[Descriptor, bytes, list[tuple[Descriptor, bytes]]]:
        """The root and child manifests naming the converted layers (children come first)."""
        replaced: dict[Digest, Descriptor] = {}
        out = [self._rewrite_one(d, raw, replaced) for d, raw in manifests]
        new_root, new_raw = self._rewrite_one(root, root_raw, replaced)
        return new_root, new_raw, out

    def _rewrite_one(
        self, descriptor: Descriptor, raw: bytes, replaced: dict[Digest, Descriptor]
    ) -> tuple[Descriptor, bytes]:
        if not self._done:
            return descriptor, raw
        parsed = parse_manifest_or_index(raw, descriptor.media_type)
        rebuilt: Manifest | Index | None
        if isinstance(parsed, Manifest):
            rebuilt = self._rewrite_manifest(parsed)
        else:
            rebuilt = _rewrite_index(parsed, replaced)
        if rebuilt is None:
            return descriptor, raw
        new = Descriptor(
            rebuilt.media_type,
            rebuilt.digest,
            rebuilt.size,
            urls=descriptor.urls,
            annotations=descriptor.annotations,
            platform=descriptor.platform,
            artifact_type=descriptor.artifact_type,
        )
        replaced[descriptor.digest] = new
        return new, rebuilt.raw

    def _rewrite_manifest(self, manifest: Manifest) -> Manifest | None:
        converted = {
            layer.digest: self._done[layer.digest]
            for layer in manifest.layers
            if layer.digest in self._done
        }
        if not converted:
            return None
        targets = {d: self._jobs[d].target for d in converted}
        oci = manifest.media_type == mt.OCI_MANIFEST or "zstd" in targets.values()
        layers = []
        for layer in manifest.layers:
            if layer.digest in converted:
                digest, size = converted[layer.digest]
                media_type = layer_media_type(targets[layer.digest], oci=oci)
                layers.append(Descriptor(media_type, digest, size, annotations=layer.annotations))
            elif oci:
                layers.append(_with_media_type(layer, as_oci(layer.media_type)))
            else:
                layers.append(layer)
        config = manifest.config
        media_type = manifest.media_type
        if oci and media_type == mt.DOCKER_MANIFEST:
            config = _with_media_type(config, as_oci(config.media_type))
            media_type = mt.OCI_MANIFEST
        return Manifest.build(
            config,
            layers,
            media_type=media_type,
            annotations=manifest.annotations,
            subject=manifest.subject,
            artifact_type=manifest.artifact_type,
        )

    def close(self) -> None:
        if self._variants is not None:
            self._variants.close()


def _rewrite_index(index: Index, replaced: dict[Digest, Descriptor]) -> Index | None:
    children: list[Descriptor] = []
    changed = False
    for child in index.manifests:
        new = replaced.get(child.digest, child)
        annotations = child.annotations
        target = (annotations or {}).get(_REFERENCE_DIGEST)
        if annotations and target is not None:
            try:
                pointed = replaced.get(Digest.parse(target))
            except DockyardError:
                pointed = None
            if pointed is not None:
                annotations = {**annotations, _REFERENCE_DIGEST: str(pointed.digest)}
        if new is not child or annotations is not child.annotations:
            changed = True
            new = Descriptor(
                new.media_type,
                new.digest,
                new.size,
                urls=child.urls,
                annotations=annotations,
                platform=child.platform,
                artifact_type=child.artifact_type,
            )
        children.append(new)
    if not changed:
        return None
    media_type = index.media_type
    if media_type == mt.DOCKER_MANIFEST_LIST and any(
        c.media_type == mt.OCI_MANIFEST for c in children
    ):
        media_type = mt.OCI_INDEX
    return Index.build(
        children,
        media_type=media_type,
        annotations=index.annotations,
        subject=index.subject,
        artifact_type=index.artifact_type,
    )


def _with_media_type(descriptor: Descriptor, media_type: str) -> Descriptor:
    if media_type == descriptor.media_type:
        return descriptor
    return Descriptor(
        media_type,
        descriptor.digest,
        descriptor.size,
        urls=descriptor.urls,
        annotations=descriptor.annotations,
        platform=descriptor.platform,
        artifact_type=descriptor.artifact_type,
        data=descriptor.data,
    )


def _jobs(
    src: ImageSource, images: list[Manifest], policy: CompressionPolicy
) -> dict[Digest, _Job]:
    """The layers to convert, each with the diff_id its image's config gives it. Images whose
    config is not an image config with one diff_id a layer (artifacts) are left alone."""
    jobs: dict[Digest, _Job] = {}
    if policy.changes_nothing:
        return jobs
    for image in images:
        wanted = [policy.target(layer) for layer in image.layers]
        if not any(convert for convert, _ in wanted) or not mt.is_config(image.config.media_type):
            continue
        raw = src.blobs.read_blob(image.config)
        try:
            config = ImageConfig.parse(raw)
        except ManifestInvalid:
            continue
        if len(config.diff_ids) != len(image.layers):
            continue
        for layer, diff_id, (convert, target) in zip(
            image.layers, config.diff_ids, wanted, strict=True
        ):
            if convert:
                jobs[layer.digest] = _Job(target, diff_id)
    return jobs
