"""What a manifest is, judged by its content: a runnable image, a signature, an attestation, an
SBOM, another artifact, or an index of these.

Names (tags) and a ``subject`` field are never inputs: whoever can push chooses both.

- A manifest whose config is not an image config (an OCI 1.1 artifact, cosign's referrer mode)
  is not runnable: docker, containerd and podman refuse to create a container from it. Its kind
  follows its layers' media types, then its ``artifactType`` or config media type.
- A manifest with an image config is runnable, whatever ``artifactType``, ``subject`` or
  annotations it carries, with one exception: cosign's own signature and attestation images
  (and buildx's attestation manifests) have an image config too. Such a manifest is an
  attachment only when every layer is typed as one (simple-signing payload, DSSE envelope,
  in-toto statement, SBOM document) *and* ``content`` shows each layer's bytes to be what the
  type says: a text document (JSON for ``+json`` types) without a NUL byte, at most
  :data:`MAX_ATTACHMENT_SIZE`. The media type alone proves nothing (podman unpacks any layer
  as a tar, whatever its type); a filesystem of NUL-free text holds no executable to run.
  Without ``content`` such a manifest counts as a runnable image.
- An index is runnable unless ``content`` finds every manifest it lists and none of them is
  runnable; what cannot be looked up counts as runnable. An empty index lists nothing to run.

Pure: the caller's :class:`Content` does any I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from dockyard.digest import Digest
from dockyard.errors import DockyardError
from dockyard.oci import mediatypes as mt
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.manifest import Index, Manifest, parse_manifest_or_index

__all__ = [
    "DSSE_ENVELOPE",
    "INTOTO_STATEMENT",
    "MAX_ATTACHMENT_SIZE",
    "SBOM_TYPES",
    "SIMPLESIGNING",
    "Child",
    "Classification",
    "Content",
    "Kind",
    "classify",
]

SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_ENVELOPE = "application/vnd.dsse.envelope.v1+json"
INTOTO_STATEMENT = "application/vnd.in-toto+json"
SBOM_TYPES = frozenset(
    {
        "text/spdx",
        "text/spdx+json",
        "text/spdx+xml",
        "application/spdx+json",
        "application/vnd.cyclonedx",
        "application/vnd.cyclonedx+json",
        "application/vnd.cyclonedx+xml",
        "application/vnd.syft+json",
    }
)
#: The largest layer read to confirm an image-config manifest is an attachment; a larger one
#: makes the manifest count as a runnable image.
MAX_ATTACHMENT_SIZE = 4 * 1024 * 1024
#: What one classification may read: manifests looked up, attachment bytes read. Past either,
#: what is left counts as runnable.
MAX_LOOKUPS = 1024
MAX_READ = 32 * 1024 * 1024
#: Indexes nested deeper than this count as runnable.
MAX_DEPTH = 4


class Kind(StrEnum):
    IMAGE = "image"
    IMAGE_INDEX = "image-index"
    SIGNATURE = "signature"
    ATTESTATION = "attestation"
    SBOM = "sbom"
    ARTIFACT = "artifact"
    #: an index listing only non-runnable manifests: a referrers index, cosign's fallback tag
    ARTIFACT_INDEX = "artifact-index"


_RUNNABLE = frozenset({Kind.IMAGE, Kind.IMAGE_INDEX})
_COSIGN_ARTIFACTS = {
    f"application/vnd.dev.cosign.artifact.{suffix}.v1+json": kind
    for suffix, kind in (("sig", Kind.SIGNATURE), ("att", Kind.ATTESTATION), ("sbom", Kind.SBOM))
}
_LAYER_KINDS: dict[str, Kind] = {
    SIMPLESIGNING: Kind.SIGNATURE,
    DSSE_ENVELOPE: Kind.ATTESTATION,
    INTOTO_STATEMENT: Kind.ATTESTATION,
    **{t: Kind.SBOM for t in SBOM_TYPES},
}
_TYPE_KINDS: dict[str, Kind] = {**_LAYER_KINDS, **_COSIGN_ARTIFACTS}


class Content(Protocol):
    """Where the classifier looks up what a manifest points at (e.g. one repository)."""

    def manifest(self, digest: Digest) -> tuple[bytes, str] | None:
        """The bytes and media type of manifest ``digest``; None when it is not there."""
        ...

    def blob(self, descriptor: Descriptor) -> bytes | None:
        """The verified bytes of a blob (never asked for one over MAX_ATTACHMENT_SIZE);
        None when it is not there."""
        ...


@dataclass(frozen=True, slots=True)
class Child:
    """One entry of an index; ``classification`` is None when it could not be looked up."""

    descriptor: Descriptor
    classification: Classification | None

    @property
    def runnable(self) -> bool:
        return self.classification is None or self.classification.runnable


@dataclass(frozen=True, slots=True)
class Classification:
    kind: Kind
    #: why, in a few words (for refusal messages and logs)
    reason: str
    #: an index's entries, in order
    children: tuple[Child, ...] = field(default=())

    @property
    def runnable(self) -> bool:
        return self.kind in _RUNNABLE


@dataclass(slots=True)
class _Budget:
    lookups: int = MAX_LOOKUPS
    read: int = MAX_READ


def classify(
    raw: bytes, media_type: str | None = None, content: Content | None = None
) -> Classification:
    """What the manifest or index ``raw`` is. ``media_type`` is the declared one (the
    registry's record); ``content`` looks up blobs and listed manifests. Raises
    ManifestInvalid when ``raw`` is neither a manifest nor an index."""
    return _classify(parse_manifest_or_index(raw, media_type), content, _Budget(), 0)


def _classify(
    parsed: Manifest | Index, content: Content | None, budget: _Budget, depth: int
) -> Classification:
    if isinstance(parsed, Index):
        return _index(parsed, content, budget, depth)
    return _manifest(parsed, content, budget)


def _manifest(manifest: Manifest, content: Content | None, budget: _Budget) -> Classification:
    layer_kind = _same_kind(_LAYER_KINDS.get(mt.base(d.media_type)) for d in manifest.layers)
    if not mt.is_config(manifest.config.media_type):
        if layer_kind is not None:
            return Classification(layer_kind, f"{layer_kind} layers, no image config")
        for declared in (manifest.artifact_type, manifest.config.media_type):
            kind = _TYPE_KINDS.get(mt.base(declared or ""))
            if kind is not None:
                return Classification(kind, f"{declared}, no image config")
        return Classification(Kind.ARTIFACT, f"config {manifest.config.media_type} is no image's")
    if layer_kind is None or not manifest.layers:
        return Classification(Kind.IMAGE, "an image config and filesystem layers")
    if content is None:
        return Classification(Kind.IMAGE, f"an image config; {layer_kind} layers not read")
    for layer in manifest.layers:
        problem = _not_a_document(layer, content, budget)
        if problem is not None:
            return Classification(Kind.IMAGE, f"an image config; layer {layer.digest} {problem}")
    return Classification(layer_kind, f"an image config and {layer_kind} documents as layers")


def _same_kind(kinds: Iterable[Kind | None]) -> Kind | None:
    """The one kind all layers have (ARTIFACT when they differ); None when any is no
    attachment or there are none."""
    found = set(kinds)
    if not found or None in found:
        return None
    return next(k for k in found if k is not None) if len(found) == 1 else Kind.ARTIFACT


def _not_a_document(layer: Descriptor, content: Content, budget: _Budget) -> str | None:
    """Why ``layer`` is not the text document its media type says; None when it is."""
    if layer.size > MAX_ATTACHMENT_SIZE or layer.size > budget.read:
        return f"is too large ({layer.size} bytes) to be checked"
    budget.read -= layer.size
    data = content.blob(layer)
    if data is None:
        return "is missing"
    if b"\0" in data:
        return "is binary"
    try:
        text = data.decode("utf-8")
        if mt.base(layer.media_type).endswith("+json"):
            json.loads(text)
    except ValueError:
        return f"is not {mt.base(layer.media_type)}"
    return None


def _index(index: Index, content: Content | None, budget: _Budget, depth: int) -> Classification:
    if not index.manifests:
        return Classification(Kind.ARTIFACT_INDEX, "an empty index")
    children = tuple(Child(d, _child(d, content, budget, depth + 1)) for d in index.manifests)
    runnable = [c for c in children if c.runnable]
    if not runnable:
        return Classification(Kind.ARTIFACT_INDEX, "an index of artifacts", children)
    first = runnable[0]
    why = "not found" if first.classification is None else first.classification.reason
    return Classification(Kind.IMAGE_INDEX, f"lists {first.descriptor.digest} ({why})", children)


def _child(
    descriptor: Descriptor, content: Content | None, budget: _Budget, depth: int
) -> Classification | None:
    if content is None or depth > MAX_DEPTH or budget.lookups <= 0:
        return None
    budget.lookups -= 1
    found = content.manifest(descriptor.digest)
    if found is None:
        return None
    raw, media_type = found
    try:
        parsed = parse_manifest_or_index(raw, media_type)
    except DockyardError:
        return None
    return _classify(parsed, content, budget, depth)
