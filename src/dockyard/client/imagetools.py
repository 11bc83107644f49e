"""buildx's ``imagetools``, registry-side: look at what a reference names (``inspect``), and
make one multi-platform index of several images (``create``) without pulling layers.

``create`` copies each source into the target repository by digest — blobs the target has are
skipped, blobs of another repository of the same registry are mounted — then pushes one index
naming every source's platform(s) under the target's tag. A source that is an index brings all
its entries; a source that is an image brings itself, with the platform its config states. The
index is an OCI index unless every entry is a Docker schema 2 manifest (then a Docker manifest
list), as buildx chooses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from dockyard.client._remote import RegistryClient, RemoteImageSource
from dockyard.errors import InvalidArgument
from dockyard.image.copy import copy
from dockyard.oci import Descriptor, ImageConfig, Index, mediatypes, parse_manifest_or_index
from dockyard.reference import Reference

__all__ = ["Inspected", "build_index", "create", "doubled_platforms", "inspect", "pretty"]

#: Sources one ``create`` takes, at most (an index of more entries is refused by registries).
MAX_SOURCES = 128


@dataclass(frozen=True)
class Inspected:
    """What a reference names: its descriptor and raw bytes, and for an index its entries."""

    reference: Reference
    descriptor: Descriptor
    raw: bytes
    manifests: list[Descriptor] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "name": str(self.reference),
            "mediaType": self.descriptor.media_type,
            "digest": str(self.descriptor.digest),
            "size": self.descriptor.size,
        }
        if self.manifests:
            base = self.reference.without_tag_or_digest()
            out["manifests"] = [
                {
                    "name": str(base.with_digest(d.digest)),
                    **d.to_json(),
                }
                for d in self.manifests
            ]
        return out


def inspect(client: RegistryClient, reference: Reference) -> Inspected:
    """The manifest or index ``reference`` names, with an index's entries."""
    descriptor, raw = client.source(reference).root()
    parsed = parse_manifest_or_index(raw, descriptor.media_type)
    children = list(parsed.manifests) if isinstance(parsed, Index) else []
    return Inspected(reference, descriptor, raw, children)


def _entries(source: RemoteImageSource) -> tuple[Descriptor, list[Descriptor]]:
    """The root a source names, and the index entries it contributes."""
    descriptor, raw = source.root()
    parsed = parse_manifest_or_index(raw, descriptor.media_type)
    if isinstance(parsed, Index):
        return descriptor, list(parsed.manifests)
    config = ImageConfig.parse(source.blobs.read_blob(parsed.config))
    platform = config.platform()
    return descriptor, [
        Descriptor(descriptor.media_type, descriptor.digest, descriptor.size, platform=platform)
    ]


def create(
    client: RegistryClient,
    target: Reference,
    sources: list[Reference],
    *,
    annotations: dict[str, str] | None = None,
    dry_run: bool = False,
) -> tuple[Descriptor, bytes]:
    """Push one index of every source's platform(s) as ``target`` (a tag); returns the index's
    descriptor and bytes. ``dry_run``: build and return it, push nothing."""
    if not sources:
        raise InvalidArgument("imagetools create needs at least one source image")
    if len(sources) > MAX_SOURCES:
        raise InvalidArgument(
            f"{len(sources)} sources; imagetools create takes at most {MAX_SOURCES}"
        )
    if target.digest is not None:
        raise InvalidArgument(f"the target {target} names a digest; give it a tag (-t NAME:TAG)")
    entries: list[Descriptor] = []
    seen: set[tuple[str, str | None]] = set()
    for ref in sources:
        source = client.source(ref)
        root, contributed = _entries(source)
        if not dry_run:
            destination = client.destination(
                target.without_tag_or_digest().with_digest(root.digest)
            )
            copy(source, destination, all_platforms=True)
        for entry in contributed:
            key = (str(entry.digest), str(entry.platform) if entry.platform else None)
            if key not in seen:
                seen.add(key)
                entries.append(entry)
    doubled_platforms(entries, "several sources give platform {}; an index holds one image "
                      "per platform", "leave out one of the sources for that platform")  # fmt: skip
    index = build_index(entries, annotations)
    descriptor = Descriptor.of(index.raw, index.media_type)
    if not dry_run:
        client.repository(target).put_manifest(target.tag or "latest", index.raw, index.media_type)
    return descriptor, index.raw


def doubled_platforms(entries: list[Descriptor], message: str, hint: str) -> None:
    """InvalidArgument (``message`` with the platforms for ``{}``) when two entries give one
    platform: an index holds one image per platform."""
    platforms = [str(e.platform) for e in entries if e.platform is not None]
    doubled = sorted({p for p in platforms if platforms.count(p) > 1})
    if doubled:
        raise InvalidArgument(message.format(", ".join(doubled)), hint=hint)


def build_index(entries: list[Descriptor], annotations: dict[str, str] | None = None) -> Index:
    """The index of ``entries``: a Docker manifest list when every entry is a Docker schema 2
    manifest and nothing is annotated, else an OCI index (buildx's and docker's choice)."""
    docker_only = all(e.media_type == mediatypes.DOCKER_MANIFEST for e in entries)
    media_type = (
        mediatypes.DOCKER_MANIFEST_LIST if docker_only and not annotations else mediatypes.OCI_INDEX
    )
    return Index.build(entries, media_type=media_type, annotations=annotations or None)


def pretty(inspected: Inspected) -> str:
    """buildx's ``imagetools inspect`` text."""
    lines = [
        f"Name:      {inspected.reference}",
        f"MediaType: {inspected.descriptor.media_type}",
        f"Digest:    {inspected.descriptor.digest}",
    ]
    if inspected.manifests:
        lines += ["", "Manifests:"]
        base = inspected.reference.without_tag_or_digest()
        for i, entry in enumerate(inspected.manifests):
            if i:
                lines.append("")
            lines.append(f"  Name:      {base.with_digest(entry.digest)}")
            lines.append(f"  MediaType: {entry.media_type}")
            if entry.platform is not None:
                lines.append(f"  Platform:  {entry.platform}")
            for key, value in sorted((entry.annotations or {}).items()):
                lines.append(f"  Annotations: {key}: {json.dumps(value)}")
    return "\n".join(lines)
