"""Image manifests and indexes (OCI, and Docker's v2 schema 2 manifest and manifest list).

Parsed objects keep the exact bytes they came from; their digest is always over those bytes.
Built objects are serialised once, canonically (Go's field order, compact), then parsed back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockyard.digest import SHA256, Digest, digest_of
from dockyard.errors import InvalidArgument, ManifestInvalid, NotFound
from dockyard.oci import mediatypes as mt
from dockyard.oci._json import Fields, dumps, load_object
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.platform import Platform

__all__ = ["Index", "Manifest", "parse_manifest_or_index"]

_DOCKER_TYPES = frozenset({mt.DOCKER_MANIFEST, mt.DOCKER_MANIFEST_LIST})


def _media_type(obj: dict[str, Any], given: str | None, what: str) -> str:
    """The media type of a decoded manifest or index: declared, in the JSON, or by shape."""
    field = obj.get("mediaType")
    if field is not None and not isinstance(field, str):
        raise ManifestInvalid(f"invalid {what}: mediaType must be a string")
    declared = mt.base(given) if given else None
    if declared and field and declared != field:
        raise ManifestInvalid(
            f"invalid {what}: its mediaType {field!r} does not match the declared {declared!r}"
        )
    media_type = declared or field
    if not media_type:
        if "manifests" in obj:
            media_type = mt.OCI_INDEX
        elif "config" in obj and "layers" in obj:
            media_type = mt.OCI_MANIFEST
        else:
            raise ManifestInvalid(
                f"invalid {what}: no mediaType, and neither 'manifests' (an index) nor "
                "'config' and 'layers' (a manifest) to tell what it is"
            )
    if not (mt.is_manifest(media_type) or mt.is_index(media_type)):
        raise ManifestInvalid(
            f"invalid {what}: unsupported media type {media_type!r}",
            hint="supported: OCI image manifest/index, Docker manifest v2 schema 2/manifest list",
        )
    if media_type in _DOCKER_TYPES and field != media_type:
        raise ManifestInvalid(f"invalid {what}: mediaType must be {media_type!r}, got {field!r}")
    return media_type


def _common(f: Fields) -> tuple[Descriptor | None, dict[str, str] | None, str | None]:
    """schemaVersion check; the subject, annotations and artifactType shared by both kinds."""
    version = f.required("schemaVersion")
    if isinstance(version, bool) or version != 2:
        f.fail(f"schemaVersion must be 2, got {version!r}")
    subject = None
    if f.obj.get("subject") is not None:
        subject = Descriptor.from_json(f.obj["subject"], what=f.what, where="subject")
    artifact_type = f.opt_str("artifactType") or None
    if artifact_type is not None and not mt.is_valid(artifact_type):
        f.fail(f"artifactType {artifact_type!r} is not a valid media type")
    return subject, f.opt_str_map("annotations"), artifact_type


def _descriptors(f: Fields, key: str) -> list[Descriptor]:
    items = f.required(key)
    if not isinstance(items, list):
        f.fail(f"{key} must be an array, got {'null' if items is None else type(items).__name__}")
    return [Descriptor.from_json(d, what=f.what, where=f"{key}[{i}]") for i, d in enumerate(items)]


def _head(media_type: str, artifact_type: str | None) -> dict[str, Any]:
    obj: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type}
    if artifact_type:
        obj["artifactType"] = artifact_type
    return obj


def _tail(
    obj: dict[str, Any], subject: Descriptor | None, annotations: dict[str, str] | None
) -> None:
    if subject is not None:
        obj["subject"] = subject.to_json()
    if annotations:
        obj["annotations"] = dict(sorted(annotations.items()))


@dataclass(frozen=True, slots=True, eq=False)
class Manifest:
    """An image manifest: one config blob and an ordered list of layers."""

    raw: bytes
    media_type: str
    digest: Digest
    size: int
    config: Descriptor
    layers: list[Descriptor]
    subject: Descriptor | None = None
    annotations: dict[str, str] | None = None
    artifact_type: str | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Manifest) and (self.raw, self.media_type) == (
            other.raw,
            other.media_type,
        )

    def __hash__(self) -> int:
        return hash((self.digest, self.media_type))

    @classmethod
    def parse(
        cls, raw: bytes, media_type: str | None = None, *, algorithm: str = SHA256
    ) -> Manifest:
        """Parse strictly. ``media_type`` is what the source declared (e.g. Content-Type)."""
        obj = load_object(raw, "manifest")
        media_type = _media_type(obj, media_type, "manifest")
        if mt.is_index(media_type):
            raise ManifestInvalid(
                f"invalid manifest: expected an image manifest, found an index ({media_type})",
                hint="use parse_manifest_or_index() and pick a platform with Index.select()",
            )
        return cls._from_object(bytes(raw), obj, media_type, algorithm)

    @classmethod
    def _from_object(
        cls, raw: bytes, obj: dict[str, Any], media_type: str, algorithm: str
    ) -> Manifest:
        f = Fields(obj, "manifest")
        if "manifests" in obj:
            f.fail("expected an image manifest, but it has 'manifests' like an index")
        subject, annotations, artifact_type = _common(f)
        return cls(
            raw=raw,
            media_type=media_type,
            digest=digest_of(raw, algorithm),
            size=len(raw),
            config=Descriptor.from_json(f.required("config"), what="manifest", where="config"),
            layers=_descriptors(f, "layers"),
            subject=subject,
            annotations=annotations,
            artifact_type=artifact_type,
        )

    @classmethod
    def build(
        cls,
        config: Descriptor,
        layers: list[Descriptor],
        *,
        media_type: str = mt.OCI_MANIFEST,
        annotations: dict[str, str] | None = None,
        subject: Descriptor | None = None,
        artifact_type: str | None = None,
    ) -> Manifest:
        """Serialise a new manifest canonically and parse it back."""
        if not mt.is_manifest(media_type):
            raise InvalidArgument(f"cannot build a manifest of media type {media_type!r}")
        if media_type == mt.DOCKER_MANIFEST and (annotations or subject or artifact_type):
            raise InvalidArgument(
                "Docker v2 schema 2 manifests have no annotations, subject or artifactType",
                hint=f"build an OCI manifest ({mt.OCI_MANIFEST}) instead",
            )
        obj = _head(media_type, artifact_type)
        obj["config"] = config.to_json()
        obj["layers"] = [layer.to_json() for layer in layers]
        _tail(obj, subject, annotations)
        return cls.parse(dumps(obj), media_type)

    def descriptor(self, platform: Platform | None = None) -> Descriptor:
        """A descriptor pointing at this manifest, e.g. for an index entry or a tag."""
        return Descriptor(
            self.media_type,
            self.digest,
            self.size,
            platform=platform,
            artifact_type=self.artifact_type,
        )


@dataclass(frozen=True, slots=True, eq=False)
class Index:
    """An image index / manifest list: manifests for several platforms (or artifacts)."""

    raw: bytes
    media_type: str
    digest: Digest
    size: int
    manifests: list[Descriptor]
    annotations: dict[str, str] | None = None
    subject: Descriptor | None = None
    artifact_type: str | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Index) and (self.raw, self.media_type) == (
            other.raw,
            other.media_type,
        )

    def __hash__(self) -> int:
        return hash((self.digest, self.media_type))

    @classmethod
    def parse(cls, raw: bytes, media_type: str | None = None, *, algorithm: str = SHA256) -> Index:
        """Parse strictly. ``media_type`` is what the source declared (e.g. Content-Type)."""
        obj = load_object(raw, "index")
        media_type = _media_type(obj, media_type, "index")
        if mt.is_manifest(media_type):
            raise ManifestInvalid(
                f"invalid index: expected an index, found an image manifest ({media_type})",
                hint="use Manifest.parse() or parse_manifest_or_index()",
            )
        return cls._from_object(bytes(raw), obj, media_type, algorithm)

    @classmethod
    def _from_object(
        cls, raw: bytes, obj: dict[str, Any], media_type: str, algorithm: str
    ) -> Index:
        f = Fields(obj, "index")
        if "config" in obj or "layers" in obj:
            f.fail("expected an index, but it has 'config'/'layers' like an image manifest")
        subject, annotations, artifact_type = _common(f)
        return cls(
            raw=raw,
            media_type=media_type,
            digest=digest_of(raw, algorithm),
            size=len(raw),
            manifests=_descriptors(f, "manifests"),
            annotations=annotations,
            subject=subject,
            artifact_type=artifact_type,
        )

    @classmethod
    def build(
        cls,
        manifests: list[Descriptor],
        *,
        media_type: str = mt.OCI_INDEX,
        annotations: dict[str, str] | None = None,
        subject: Descriptor | None = None,
        artifact_type: str | None = None,
    ) -> Index:
        """Serialise a new index canonically and parse it back."""
        if not mt.is_index(media_type):
            raise InvalidArgument(f"cannot build an index of media type {media_type!r}")
        if media_type == mt.DOCKER_MANIFEST_LIST and (annotations or subject or artifact_type):
            raise InvalidArgument(
                "Docker manifest lists have no annotations, subject or artifactType",
                hint=f"build an OCI index ({mt.OCI_INDEX}) instead",
            )
        obj = _head(media_type, artifact_type)
        obj["manifests"] = [d.to_json() for d in manifests]
        _tail(obj, subject, annotations)
        return cls.parse(dumps(obj), media_type)

    def descriptor(self, platform: Platform | None = None) -> Descriptor:
        """A descriptor pointing at this index."""
        return Descriptor(
            self.media_type,
            self.digest,
            self.size,
            platform=platform,
            artifact_type=self.artifact_type,
        )

    def select(self, platform: Platform) -> Descriptor:
        """The entry that best fits ``platform``, as Docker/containerd pick it.

        Exact (normalised) matches win, then compatible ones in containerd's order (arm/v7 before
        arm/v6, amd64 before 386); among equals the first listed. An entry without a platform is
        taken only when no entry matches and it is an image manifest.
        """
        best: tuple[int, Descriptor] | None = None
        for d in self.manifests:
            if d.platform is None:
                continue
            rank = d.platform.rank(platform)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, d)
        if best is not None:
            return best[1]
        for d in self.manifests:
            if d.platform is None and mt.is_manifest(d.media_type):
                return d
        available = ", ".join(str(d.platform) for d in self.manifests if d.platform) or "none"
        raise NotFound(
            f"no matching manifest for {platform.normalized()} in the manifest list entries",
            hint=f"available platforms: {available}",
        )

    def platforms(self) -> list[Platform]:
        """The platforms of the entries that declare one, in order."""
        return [d.platform for d in self.manifests if d.platform is not None]


def parse_manifest_or_index(
    raw: bytes, media_type: str | None = None, *, algorithm: str = SHA256
) -> Manifest | Index:
    """Parse a manifest or an index, whichever ``raw`` (or the declared media type) says."""
    obj = load_object(raw, "manifest")
    kind = _media_type(obj, media_type, "manifest")
    if mt.is_index(kind):
        return Index._from_object(bytes(raw), obj, kind, algorithm)
    return Manifest._from_object(bytes(raw), obj, kind, algorithm)
