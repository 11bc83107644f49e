"""What the artifact page adds to the API's answer (blocking: run it in a thread, after the
API has let the user read the artifact): a layer's files, or the filesystem as the layers up
to it build it, with the paths several layers wrote marked as wasted bytes (the analysis of
``dockyard analyze``); an SBOM as SPDX or CycloneDX (the scanner's catalogue), or its packages
as rows; the artifacts that refer to it (OCI referrers, and cosign's
``sha256-<hex>.sig``/``.att``/``.sbom`` tags) with each signature's digest and whether it
verifies (:mod:`._trust`).

Bounded: images whose layers hold more than :data:`~._compare.MAX_BYTES` are refused, a
directory shows at most :data:`MAX_ROWS` entries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.analyze import FsNode, apply_layer, build_tree, efficiency, new_root, read_layers
from dockyard.digest import Digest
from dockyard.errors import InvalidArgument, NotFound
from dockyard.image.blob import BlobImage
from dockyard.registry._registry import Registry
from dockyard.registry.contents._compare import MAX_BYTES, TooBig, _image
from dockyard.registry.contents._trust import VERIFIED, Verdict, judge, trusted_keys
from dockyard.registry.promotion import key_id
from dockyard.scan import ScanBudget, catalog_source, image_source, render_sbom
from dockyard.sign import PublicKey

__all__ = [
    "MAX_ROWS",
    "SBOM_FORMATS",
    "FileRow",
    "Listing",
    "PackageRow",
    "Referrer",
    "bounded",
    "image_listing",
    "image_packages",
    "image_sbom",
    "listing",
    "packages",
    "referrers",
    "sbom",
]

MAX_ROWS = 1000
#: the download formats: the console's name → (the scanner's format, a file suffix)
SBOM_FORMATS = {"spdx": ("spdx-json", "spdx.json"), "cyclonedx": ("cyclonedx-json", "cdx.json")}
_SIGNATURE = "dev.cosignproject.cosign/signature"
#: an attestation's layer (cosign attest): a DSSE envelope over an in-toto statement
DSSE = "application/vnd.dsse.envelope.v1+json"
_PREDICATE = "predicateType"
_KINDS = {"0": "file", "1": "hard link", "2": "symlink", "3": "char device", "4": "block device",
          "5": "directory", "6": "fifo"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class FileRow:
    name: str
    is_dir: bool
    kind: str
    size: int
    mode: int
    layer: int  # the layer that last wrote it (0-based); -1 for an implied directory
    link: str
    wasted: bool  # more than one layer wrote it (or something under it)


@dataclass(frozen=True, slots=True)
class Listing:
    layers: int
    layer: int
    merged: bool
    path: str
    rows: list[FileRow]
    more: int
    wasted_bytes: int


@dataclass(frozen=True, slots=True)
class Referrer:
    """``how``: "referrer" (its ``subject`` names the artifact) or the cosign tag it is under.
    ``signatures``: the digests of the signature layers it holds (cosign's annotation, or
    an attestation's DSSE envelope);
    ``verdicts``: whether each of them verifies against the registry's trusted keys, in the
    same order."""

    digest: str
    media_type: str
    artifact_type: str
    size: int
    how: str
    signatures: list[str]
    verdicts: list[Verdict]
    #: what each signature layer is: "signature", or "attestation <predicate type>"
    kinds: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PackageRow:
    """One package of the image's SBOM."""

    name: str
    version: str
    type: str
    licences: tuple[str, ...]


def _bounded(registry: Registry, repository: str, digest: str) -> BlobImage:
    return bounded(_image(registry, repository, digest))


def bounded(image: BlobImage) -> BlobImage:
    """``image``, unless its layers hold more than :data:`~._compare.MAX_BYTES`."""
    total = sum(x.descriptor.size for x in image.layers())
    if total > MAX_BYTES:
        raise TooBig(
            f"this image's layers hold {total:,} bytes; the console reads at most "
            f"{MAX_BYTES:,}: look at it with `dockyard analyze` on your machine instead"
        )
    return image


def _find(root: FsNode, path: str) -> FsNode:
    node = root
    for part in [p for p in path.split("/") if p]:
        child = (node.children or {}).get(part)
        if child is None or child.children is None:
            raise NotFound(f"no directory {path!r} in this filesystem")
        node = child
    return node


def _with_parents(paths: set[str]) -> set[str]:
    """The paths and every directory above them (a directory holds waste when any path
    under it does)."""
    out: set[str] = set()
    for path in paths:
        parts = path.split("/")
        for end in range(len(parts), 0, -1):
            prefix = "/".join(parts[:end])
            if prefix in out:
                break
            out.add(prefix)
    return out


def listing(
    registry: Registry, repository: str, digest: str, layer: int, *, merged: bool, path: str
) -> Listing:
    """Directory ``path`` of layer ``layer`` alone, or (``merged``) of the filesystem the
    layers up to it build."""
    return image_listing(_bounded(registry, repository, digest), layer, merged=merged, path=path)


def image_listing(image: BlobImage, layer: int, *, merged: bool, path: str) -> Listing:
    """:func:`listing` of an image from any blob source (the registry's, the local store's);
    the caller checks its size first (:func:`bounded`)."""
    layers = image.layers()
    if not 0 <= layer < len(layers):
        raise NotFound(f"the image has {len(layers)} layers; there is no layer {layer + 1}")
    chosen = layers[: layer + 1] if merged else [layers[layer]]
    try:
        entries = read_layers(chosen, source=image.source)
    except (ValueError, EOFError):  # how the tar reader says a blob is no tar
        raise InvalidArgument(
            "a layer of this image is not a tar archive: it holds no files to browse"
        ) from None
    root = new_root()
    for index, layer_entries in enumerate(entries):
        apply_layer(root, layer_entries, index if merged else layer)
    wasted: set[str] = set()
    wasted_bytes = 0
    if merged:
        _, inefficiencies = efficiency([build_tree(e) for e in entries])
        wasted = _with_parents({i.path.strip("/") for i in inefficiencies})
        wasted_bytes = sum(i.cumulative_size for i in inefficiencies)
    clean = "/".join(p for p in path.split("/") if p and p not in (".", ".."))
    node = _find(root, clean)
    rows = []
    for name in sorted(node.children or {}):
        child = (node.children or {})[name]
        entry = child.entry
        full = f"{clean}/{name}" if clean else name
        rows.append(
            FileRow(
                name=name,
                is_dir=child.children is not None,
                kind=_KINDS.get(entry.kind, entry.kind) if entry else "directory",
                size=child.size,
                mode=entry.mode if entry else 0,
                layer=child.layer,
                link=entry.linkname if entry else "",
                wasted=full in wasted,
            )
        )
    return Listing(len(layers), layer, merged, clean, rows[:MAX_ROWS],
                   max(0, len(rows) - MAX_ROWS), wasted_bytes)  # fmt: skip


def sbom(registry: Registry, repository: str, digest: str, fmt: str) -> str:
    """The image's SBOM in ``fmt`` (a key of :data:`SBOM_FORMATS`)."""
    if fmt not in SBOM_FORMATS:
        raise InvalidArgument(f"the SBOM format must be one of {', '.join(SBOM_FORMATS)}")
    return image_sbom(_bounded(registry, repository, digest), "registry", repository, fmt)


def image_sbom(image: BlobImage, kind: str, name: str, fmt: str) -> str:
    """:func:`sbom` of an image from any blob source (``kind`` and ``name``: what the SBOM
    says it describes, as ``dockyard sbom`` names a source); the caller checks its size first
    (:func:`bounded`)."""
    if fmt not in SBOM_FORMATS:
        raise InvalidArgument(f"the SBOM format must be one of {', '.join(SBOM_FORMATS)}")
    with image_source(kind, name, image) as source:
        inventory = catalog_source(source, budget=ScanBudget(layer_bytes=MAX_BYTES))
    return render_sbom(inventory, SBOM_FORMATS[fmt][0])


def packages(registry: Registry, repository: str, digest: str) -> list[PackageRow]:
    """The packages the image holds (the ones its SBOM downloads list), sorted by name."""
    return image_packages(_bounded(registry, repository, digest), "registry", repository)


def image_packages(image: BlobImage, kind: str, name: str) -> list[PackageRow]:
    """:func:`packages` of an image from any blob source; the caller checks its size first."""
    with image_source(kind, name, image) as source:
        inventory = catalog_source(source, budget=ScanBudget(layer_bytes=MAX_BYTES))
    rows = [PackageRow(p.name, p.version, p.type, tuple(p.licenses)) for p in inventory.packages]
    return sorted(rows, key=lambda r: (r.name.lower(), r.name, r.version, r.type))


def _signature_layers(registry: Registry, repository: str, digest: str) -> list[dict[str, Any]]:
    try:
        manifest = json.loads(registry.manifest(repository, digest).content)
    except (NotFound, ValueError):
        return []
    return [
        layer
        for layer in manifest.get("layers") or ()
        if isinstance(layer, dict)
        and (_SIGNATURE in (layer.get("annotations") or {}) or layer.get("mediaType") == DSSE)
    ]


def _kind(layer: dict[str, Any]) -> str:
    if layer.get("mediaType") != DSSE:
        return "signature"
    predicate = (layer.get("annotations") or {}).get(_PREDICATE)
    return f"attestation {str(predicate)[:200]}" if predicate else "attestation"


def referrers(
    registry: Registry,
    repository: str,
    digest: str,
    named: Sequence[tuple[PublicKey, str]] = (),
) -> list[Referrer]:
    """The artifacts that refer to ``digest``: OCI referrers first, then cosign's tags; each
    signature judged against the keys the registry trusts for ``repository`` and the keys
    ``named`` (a key and who names it: the project's promotion policies); a signature verified
    by a named key says who names it."""
    subject = Digest.parse(digest)
    keys = list(trusted_keys(registry, repository))
    known = {key_id(k) for k in keys}
    keys += [k for k, _ in named if key_id(k) not in known]
    named_by = {key_id(k): by for k, by in named if key_id(k) not in known}

    def verdict(layer: dict[str, Any]) -> Verdict:
        found = judge(registry, repository, digest, layer, keys)
        if found.state == VERIFIED and found.detail in named_by:
            return Verdict(VERIFIED, f"{found.detail}, named by {named_by[found.detail]}")
        return found

    def referrer(found: str, media_type: str, artifact_type: str, size: int, how: str) -> Referrer:
        layers = _signature_layers(registry, repository, found)
        return Referrer(found, media_type, artifact_type, size, how,
                        [str(x.get("digest", "")) for x in layers],
                        [verdict(x) for x in layers], [_kind(x) for x in layers])  # fmt: skip

    out: list[Referrer] = []
    index = json.loads(registry.referrers(repository, subject, None))
    for d in index.get("manifests") or ():
        out.append(referrer(str(d.get("digest", "")), str(d.get("mediaType", "")),
                            str(d.get("artifactType", "")), int(d.get("size", 0)), "referrer"))  # fmt: skip
    seen = {r.digest for r in out}
    for suffix in ("sig", "att", "sbom"):
        tag = f"{subject.algorithm}-{subject.hex}.{suffix}"
        try:
            record = registry.manifest(repository, tag)
        except NotFound:
            continue
        if record.digest in seen:
            continue
        out.append(referrer(record.digest, record.media_type, "", len(record.content),
                            f"tag {tag}"))  # fmt: skip
    return out
