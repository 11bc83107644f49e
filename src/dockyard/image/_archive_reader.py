"""The one reader of image archives: docker-archive (``docker save``) and oci-archive tars.

:func:`open_archive` indexes the tar (:mod:`._archive_tar`), reads ``index.json`` /
``manifest.json`` and checks that every member they name is there, before any blob is read.
The images it finds are :class:`ArchiveEntry` records; :meth:`ImageArchive.source` makes one
of them an :class:`~dockyard.image.ImageSource`, so loading an archive is a ``copy`` into the
store, and ``sbom``/``scan`` read the same blobs in place.

When the archive holds an OCI layout (OCI archives; docker-archives from Docker 25+ and
dockyard) its manifests are used as they are, so digests survive. A legacy ``docker save``
tar has only ``manifest.json``: an OCI manifest is built for each image from its config and
layer tars (the same one ``dockyard load`` has always built, so image IDs and digests match).
"""

from __future__ import annotations

import dataclasses
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from dockyard.digest import Digest, Digester, digest_of
from dockyard.errors import (
    BlobUnknown,
    DigestInvalid,
    DockyardError,
    InvalidArgument,
    ManifestInvalid,
    NotFound,
    ReferenceInvalid,
)
from dockyard.image._archive_tar import ArchiveTar, Member, clean_name, open_tar
from dockyard.layers import decompressor, detect
from dockyard.oci import (
    Descriptor,
    ImageConfig,
    Index,
    Manifest,
    mediatypes,
    parse_manifest_or_index,
)
from dockyard.reference import Reference

__all__ = ["ArchiveBlobs", "ArchiveEntry", "ArchiveImageSource", "ImageArchive", "open_archive"]

NAME_ANNOTATION = "io.containerd.image.name"
REF_ANNOTATION = "org.opencontainers.image.ref.name"
_CHUNK = 1 << 20

#: what the archive holds: an OCI image layout, or only docker's legacy ``manifest.json``
ArchiveLayout = Literal["oci", "docker"]


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    """One image (or index) in an archive."""

    #: the manifest or index; its platform is kept, the archive's naming annotations are not
    descriptor: Descriptor
    raw: bytes
    #: the image ID: the config digest of an image, the digest of an index
    image_id: Digest
    names: tuple[Reference, ...] = ()
    #: the manifest was built from docker's ``manifest.json``; the archive does not hold it
    synthesized: bool = False
    #: the names as the archive's index.json spells them (``v1``, ``localhost/app:v1``)
    ref_names: tuple[str, ...] = ()


class ArchiveBlobs:
    """The archive's blobs by digest (a :class:`~dockyard.image.BlobSource`), read in place and
    verified as they stream; manifests built for a legacy docker archive come from memory."""

    def __init__(self, tar: ArchiveTar) -> None:
        self.tar = tar
        self._members: dict[Digest, Member] = {}
        self._built: dict[Digest, bytes] = {}

    def _add(self, digest: Digest, member: Member) -> None:
        self._members.setdefault(digest, member)

    def _member(self, descriptor: Descriptor) -> Member:
        digest = descriptor.digest
        member = self._members.get(digest) or self.tar.member(_blob_path(digest))
        if member is None:
            raise BlobUnknown(
                f"the image archive {self.tar.label} has no member {_blob_path(digest)} "
                f"(blob {digest}): the archive is incomplete; save or download it again"
            )
        return member

    def has(self, descriptor: Descriptor) -> bool:
        return descriptor.digest in self._built or (
            descriptor.digest in self._members or _blob_path(descriptor.digest) in self.tar
        )

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        if descriptor.digest in self._built:
            return io.BytesIO(self._built[descriptor.digest])
        return self.tar.open(self._member(descriptor), descriptor.digest)

    def read_blob(self, descriptor: Descriptor) -> bytes:
        if descriptor.digest in self._built:
            return self._built[descriptor.digest]
        member = self._member(descriptor)
        data = self.tar.read(member)
        actual = digest_of(data, descriptor.digest.algorithm)
        if actual != descriptor.digest:
            raise DigestInvalid(
                f"member {member.name} of the image archive {self.tar.label} is corrupt: it "
                f"hashes to {actual}, but the archive says {descriptor.digest}; save or "
                "download the archive again"
            )
        return data


@dataclass
class ImageArchive:
    """An opened archive: its images, and its blobs read in place. Close it when done."""

    tar: ArchiveTar
    layout: ArchiveLayout
    entries: list[ArchiveEntry] = field(default_factory=list)
    blobs: ArchiveBlobs = field(init=False)

    def __post_init__(self) -> None:
        self.blobs = ArchiveBlobs(self.tar)

    @property
    def label(self) -> str:
        return self.tar.label

    @property
    def compressed(self) -> bool:
        """Was the archive compressed (and so read from an uncompressed temporary copy)?"""
        return self.tar.compressed

    def select(self, name: str | None, transport: str) -> ArchiveEntry:
        """The image ``name`` names (a reference, or an OCI ``ref.name`` tag), or the only one."""
        if name is None:
            if len(self.entries) != 1:
                names = sorted({n.familiar for e in self.entries for n in e.names})
                raise InvalidArgument(
                    f"{self.label} holds {len(self.entries)} images; name one with "
                    f"{transport}:{self.label}:NAME"
                    + (f" (names: {', '.join(names)})" if names else "")
                )
            return self.entries[0]
        wanted: Reference | None
        try:
            wanted = Reference.parse_with_default_tag(name)
        except InvalidArgument:
            wanted = None
        for entry in self.entries:
            if wanted is not None and wanted in entry.names:
                return entry
            if name in entry.ref_names:
                return entry
        raise NotFound(f"no image named {name} in {self.label}")

    def source(self, entry: ArchiveEntry, transport: str | None = None) -> ArchiveImageSource:
        return ArchiveImageSource(self, entry, transport or f"{self.layout}-archive")

    def close(self) -> None:
        self.tar.close()

    def __enter__(self) -> ImageArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ArchiveImageSource:
    """One image of an archive as a copy source. Closing it does not close the archive."""

    def __init__(self, archive: ImageArchive, entry: ArchiveEntry, transport: str) -> None:
        self.archive = archive
        self.entry = entry
        self.transport = transport

    @property
    def blobs(self) -> ArchiveBlobs:
        return self.archive.blobs

    def root(self) -> tuple[Descriptor, bytes]:
        return self.entry.descriptor, self.entry.raw

    def describe(self) -> str:
        return f"{self.transport}:{self.archive.label}"

    def close(self) -> None:
        pass


def open_archive(
    source: Path | BinaryIO, *, label: str | None = None, spool_dir: Path | None = None
) -> ImageArchive:
    """Open a docker-archive or oci-archive (maybe compressed; a path or a stream) and check
    it names nothing it lacks. Raises InvalidArgument naming the archive (and the member)."""
    tar = open_tar(source, label=label, spool_dir=spool_dir)
    try:
        return _interpret(tar)
    except BaseException:
        tar.close()
        raise


def _interpret(tar: ArchiveTar) -> ImageArchive:
    if "index.json" in tar and "oci-layout" in tar:
        archive = ImageArchive(tar, "oci")
        archive.entries = _oci_entries(archive)
        if "manifest.json" in tar and not any(e.names for e in archive.entries):
            archive.entries = _names_from_docker_manifest(archive)
    elif "manifest.json" in tar:
        archive = ImageArchive(tar, "docker")
        archive.entries = _docker_entries(archive)
    else:
        if tar.cut_short:
            raise InvalidArgument(
                f"the image archive {tar.label} is truncated: it ends before its index.json or "
                "manifest.json; save or download it again"
            )
        raise InvalidArgument(
            f"{tar.label} is not an image archive: it has neither manifest.json (docker save) "
            "nor index.json + oci-layout (OCI archive)",
            hint="a root filesystem tarball becomes an image with `dockyard import`",
        )
    if not archive.entries:
        raise InvalidArgument(f"the image archive {tar.label} holds no images")
    return archive


def _missing(tar: ArchiveTar, what: str, name: str) -> InvalidArgument:
    why = "truncated" if tar.cut_short else "incomplete"
    return InvalidArgument(
        f"the image archive {tar.label} is {why}: {what} names member {name}, which it does "
        "not contain; save or download it again"
    )


def _json(tar: ArchiveTar, name: str) -> Any:
    member = tar.member(name)
    assert member is not None
    try:
        return json.loads(tar.read(member))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(
            f"{tar.label}: archive member {name} is not valid JSON: {exc}"
        ) from exc


def _blob_path(digest: Digest) -> str:
    return f"blobs/{digest.algorithm}/{digest.hex}"


def _blob_path_digest(name: str) -> Digest | None:
    parts = name.split("/")
    if len(parts) == 3 and parts[0] == "blobs":
        try:
            return Digest.parse(f"{parts[1]}:{parts[2]}")
        except DockyardError:
            return None
    return None


# --- OCI layout inside the tar ---------------------------------------------------------------


def _oci_entries(archive: ImageArchive) -> list[ArchiveEntry]:
    tar = archive.tar
    try:
        index = Index.parse(json.dumps(_json(tar, "index.json")).encode())
    except DockyardError as exc:
        raise InvalidArgument(f"{tar.label}: index.json is not a valid OCI index: {exc}") from exc
    entries: list[ArchiveEntry] = []
    by_digest: dict[Digest, int] = {}
    for listed in index.manifests:
        raw = _check_tree(archive, listed, "index.json")
        names = tuple(_names_from_annotations(listed.annotations))
        annotations = listed.annotations or {}
        ref_names = tuple(v for k in (NAME_ANNOTATION, REF_ANNOTATION) if (v := annotations.get(k)))
        if listed.digest in by_digest:  # one image under several names
            at = by_digest[listed.digest]
            old = entries[at]
            entries[at] = dataclasses.replace(
                old,
                names=old.names + tuple(n for n in names if n not in old.names),
                ref_names=old.ref_names + ref_names,
            )
            continue
        by_digest[listed.digest] = len(entries)
        descriptor = _without_names(listed)
        image_id = _image_id(listed, raw)
        entries.append(ArchiveEntry(descriptor, raw, image_id, names, ref_names=ref_names))
    return entries


def _check_tree(archive: ImageArchive, descriptor: Descriptor, named_by: str) -> bytes:
    """The bytes of ``descriptor``, after checking every blob it leads to is in the tar."""
    tar = archive.tar
    name = _blob_path(descriptor.digest)
    if name not in tar:
        raise _missing(tar, named_by, name)
    raw = archive.blobs.read_blob(descriptor)
    parsed = parse_manifest_or_index(raw, descriptor.media_type)
    if isinstance(parsed, Index):
        present = 0
        for child in parsed.manifests:
            if _blob_path(child.digest) in tar:
                _check_tree(archive, child, f"index {descriptor.digest}")
                present += 1
            elif not child.platform:
                raise _missing(tar, f"index {descriptor.digest}", _blob_path(child.digest))
        if not present:
            raise InvalidArgument(
                f"the image archive {tar.label} is incomplete: it holds none of the "
                f"{len(parsed.manifests)} platforms index {descriptor.digest} names; save or "
                "download it again"
            )
    else:
        for blob in [parsed.config, *parsed.layers]:
            if blob.urls and _blob_path(blob.digest) not in tar:
                continue  # non-distributable layer: its bytes live elsewhere
            if _blob_path(blob.digest) not in tar:
                raise _missing(tar, f"manifest {descriptor.digest}", _blob_path(blob.digest))
    return raw


def present_platforms(archive: ImageArchive, entry: ArchiveEntry) -> list[Descriptor] | None:
    """For an index missing some platforms: the children the archive holds; else None."""
    parsed = parse_manifest_or_index(entry.raw, entry.descriptor.media_type)
    if not isinstance(parsed, Index):
        return None
    present = [c for c in parsed.manifests if archive.blobs.has(c)]
    return None if len(present) == len(parsed.manifests) else present


def _image_id(descriptor: Descriptor, raw: bytes) -> Digest:
    parsed = parse_manifest_or_index(raw, descriptor.media_type)
    return parsed.config.digest if isinstance(parsed, Manifest) else descriptor.digest


def _without_names(descriptor: Descriptor) -> Descriptor:
    annotations = {
        k: v
        for k, v in (descriptor.annotations or {}).items()
        if k not in (NAME_ANNOTATION, REF_ANNOTATION)
    }
    return dataclasses.replace(descriptor, annotations=annotations or None)


def _names_from_annotations(annotations: dict[str, str] | None) -> list[Reference]:
    if not annotations:
        return []
    for key in (NAME_ANNOTATION, REF_ANNOTATION):
        value = annotations.get(key)
        if not value:
            continue
        # A bare tag ("latest") in ref.name names no repository: it cannot be loaded by name.
        if key == REF_ANNOTATION and "/" not in value and ":" not in value and "@" not in value:
            continue
        try:
            return [Reference.parse_with_default_tag(value)]
        except ReferenceInvalid:
            continue
    return []


def _names_from_docker_manifest(archive: ImageArchive) -> list[ArchiveEntry]:
    entries = _json(archive.tar, "manifest.json")
    by_config: dict[Digest, list[Reference]] = {}
    for item in entries if isinstance(entries, list) else []:
        if not isinstance(item, dict):
            continue
        digest = _blob_path_digest(clean_name(str(item.get("Config", ""))))
        if digest is not None:
            by_config[digest] = _repo_tags(archive.tar, item)
    return [
        dataclasses.replace(e, names=tuple(by_config.get(e.image_id, ()))) for e in archive.entries
    ]


def _repo_tags(tar: ArchiveTar, item: dict[str, Any]) -> list[Reference]:
    names: list[Reference] = []
    for tag in item.get("RepoTags") or []:
        try:
            names.append(Reference.parse_with_default_tag(str(tag)))
        except ReferenceInvalid as exc:
            raise InvalidArgument(
                f"{tar.label}: manifest.json has an invalid RepoTag {tag!r}: {exc}"
            ) from exc
    return names


# --- legacy docker save: manifest.json only ------------------------------------------------


def _docker_entries(archive: ImageArchive) -> list[ArchiveEntry]:
    tar = archive.tar
    items = _json(tar, "manifest.json")
    if not isinstance(items, list):
        raise InvalidArgument(f"{tar.label}: manifest.json is not a list of images")
    return [_docker_entry(archive, item) for item in items]


def _docker_entry(archive: ImageArchive, item: object) -> ArchiveEntry:
    tar = archive.tar
    if not isinstance(item, dict) or not isinstance(item.get("Config"), str):
        raise InvalidArgument(f"{tar.label}: manifest.json entry without a Config path")
    config_name = clean_name(item["Config"])
    config_member = tar.member(config_name)
    if config_member is None:
        raise _missing(tar, "manifest.json", config_name)
    config_raw = tar.read(config_member)
    config_digest = digest_of(config_raw)
    expected = _blob_path_digest(config_name)
    if expected is not None and expected != config_digest:
        raise InvalidArgument(
            f"member {config_name} of the image archive {tar.label} is corrupt: it hashes to "
            f"{config_digest}; save or download the archive again"
        )
    config = ImageConfig.parse(config_raw)
    layer_names = [clean_name(str(p)) for p in item.get("Layers") or []]
    if len(layer_names) != len(config.diff_ids):
        raise ManifestInvalid(
            f"{tar.label}: manifest.json lists {len(layer_names)} layers but config "
            f"{config_name} has {len(config.diff_ids)} diff_ids"
        )
    archive.blobs._add(config_digest, config_member)
    layers = [
        _docker_layer(archive, name, diff_id)
        for name, diff_id in zip(layer_names, config.diff_ids, strict=True)
    ]
    config_desc = Descriptor(
        media_type=mediatypes.OCI_CONFIG, digest=config_digest, size=len(config_raw)
    )
    manifest = Manifest.build(config_desc, layers)
    archive.blobs._built[manifest.digest] = manifest.raw
    return ArchiveEntry(
        manifest.descriptor(platform=config.platform()),
        manifest.raw,
        config_digest,
        tuple(_repo_tags(tar, item)),
        synthesized=True,
        ref_names=tuple(str(t) for t in item.get("RepoTags") or []),
    )


def _docker_layer(archive: ImageArchive, name: str, diff_id: Digest) -> Descriptor:
    """A descriptor for one layer tar: a plain tar's digest is its diff_id (checked as it is
    copied); a compressed one is hashed, and its diff_id checked, here."""
    tar = archive.tar
    member = tar.member(name)
    if member is None:
        raise _missing(tar, "manifest.json", name)
    kind = detect(tar.head(member, 6))
    named = _blob_path_digest(name)
    if kind is None:
        if named is not None and named != diff_id:
            raise _corrupt_layer(tar, name, named, diff_id)
        archive.blobs._add(diff_id, member)
        return Descriptor(media_type=mediatypes.OCI_LAYER, digest=diff_id, size=member.size)
    digest, actual = _hash_compressed(tar, member)
    if named is not None and named != digest:
        raise _corrupt_layer(tar, name, digest, named)
    if actual != diff_id:
        raise _corrupt_layer(tar, name, actual, diff_id)
    archive.blobs._add(digest, member)
    media_type = mediatypes.OCI_LAYER_GZIP if kind == "gzip" else mediatypes.OCI_LAYER_ZSTD
    return Descriptor(media_type=media_type, digest=digest, size=member.size)


def _corrupt_layer(tar: ArchiveTar, name: str, actual: Digest, expected: Digest) -> ManifestInvalid:
    return ManifestInvalid(
        f"layer {name} in the image archive {tar.label} has digest {actual}, but the image "
        f"config expects {expected}: the archive is corrupt; save or download it again"
    )


def _hash_compressed(tar: ArchiveTar, member: Member) -> tuple[Digest, Digest]:
    """The digest of a compressed layer member and of its uncompressed tar (its diff_id)."""
    outer = Digester()
    with tar.open(member) as raw:
        while chunk := raw.read(_CHUNK):
            outer.update(chunk)
    inner = Digester()
    with tar.open(member) as raw, decompressor(raw) as plain:
        while chunk := plain.read(_CHUNK):
            inner.update(chunk)
    return outer.digest(), inner.digest()
