"""Read docker-archive and oci-archive tars into the local store in one streaming pass.

Docker writes ``manifest.json`` last, so we cannot know up front which member is a layer and
which a config. Instead every member is taken as it streams past: small ones (JSON, most configs)
are kept in memory, large ones are hashed into the content store straight away. Only when the
whole tar has been read do we look at ``index.json`` / ``manifest.json`` and assemble images.
Everything ingested is held by a lease, so a concurrent GC cannot take it; whatever turns out to
be unreferenced is left to the next GC.
"""

from __future__ import annotations

import json
import posixpath
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO

from dockyard.digest import Digest, Digester
from dockyard.errors import DockyardError, InvalidArgument, ManifestInvalid, ReferenceInvalid
from dockyard.layers import decompressor, detect
from dockyard.local import Lease, LocalStore
from dockyard.oci import (
    Descriptor,
    ImageConfig,
    Index,
    Manifest,
    mediatypes,
    parse_manifest_or_index,
)
from dockyard.progress import NullProgress, Progress
from dockyard.reference import Reference

__all__ = ["LoadedImage", "load_archive"]

_SMALL = 1 << 20  # members up to this size are kept in memory until we know what they are
_CHUNK = 1 << 20
NAME_ANNOTATION = "io.containerd.image.name"
REF_ANNOTATION = "org.opencontainers.image.ref.name"


@dataclass
class LoadedImage:
    """One image (or index) that a load put into the store."""

    descriptor: Descriptor
    image_id: Digest
    names: list[Reference] = field(default_factory=list)


class _Members:
    """What the tar held, by path: small members as bytes, large ones as store digests."""

    def __init__(self, store: LocalStore, lease: Lease) -> None:
        self.store = store
        self.lease = lease
        self.small: dict[str, bytes] = {}
        self.large: dict[str, tuple[Digest, int]] = {}
        # docker save writes a layer shared by two images once, and a symlink in its place
        self.links: dict[str, str] = {}

    def resolve(self, name: str) -> str:
        for _ in range(16):
            if name not in self.links:
                return name
            name = self.links[name]
        raise InvalidArgument(f"archive member {name!r} is a symlink loop")

    def __contains__(self, name: str) -> bool:
        name = self.resolve(name)
        return name in self.small or name in self.large

    def read(self, name: str) -> bytes:
        name = self.resolve(name)
        if name in self.small:
            return self.small[name]
        if name in self.large:
            return self.store.content.read_bytes(self.large[name][0])
        raise InvalidArgument(f"archive is incomplete: it names {name!r} but does not contain it")

    def ingest(self, name: str, expected: Digest | None = None) -> tuple[Digest, int]:
        """Make sure the member is in the content store; return its digest and size."""
        name = self.resolve(name)
        if name in self.large:
            digest, size = self.large[name]
            if expected is not None and digest != expected:
                raise InvalidArgument(
                    f"archive member {name} has digest {digest}, but the archive says {expected}"
                )
            return digest, size
        data = self.read(name)
        digest = self.lease.put_bytes(data, expected=expected)
        return digest, len(data)


def _clean(name: str) -> str:
    name = posixpath.normpath(name.lstrip("/"))
    return "" if name == "." else name


def _blob_path_digest(name: str) -> Digest | None:
    parts = name.split("/")
    if len(parts) == 3 and parts[0] == "blobs":
        try:
            return Digest.parse(f"{parts[1]}:{parts[2]}")
        except DockyardError:
            return None
    return None


def _read_members(tar: tarfile.TarFile, members: _Members, progress: Progress) -> None:
    for info in tar:
        name = _clean(info.name)
        if info.issym():
            members.links[name] = _clean(posixpath.join(posixpath.dirname(name), info.linkname))
            continue
        if info.islnk():
            members.links[name] = _clean(info.linkname)
            continue
        if not info.isfile():
            continue
        stream = tar.extractfile(info)
        if stream is None:
            continue
        expected = _blob_path_digest(name)
        if info.size <= _SMALL:
            data = stream.read()
            if expected is not None:
                expected.verify(data)
            members.small[name] = data
            continue
        progress.start(name, f"Loading {name[-24:]}", info.size)
        with members.lease.writer(expected=expected, size=info.size) as writer:
            while chunk := stream.read(_CHUNK):
                writer.write(chunk)
                progress.advance(name, len(chunk))
            members.large[name] = writer.commit()
        progress.finish(name, "Loaded")


def _json(members: _Members, name: str) -> Any:
    try:
        return json.loads(members.read(name))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"archive member {name} is not valid JSON: {exc}") from exc


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


def _walk_blobs(members: _Members, descriptor: Descriptor) -> Iterator[Descriptor]:
    """Every descriptor reachable from ``descriptor`` (itself included), children first."""
    raw = members.read(f"blobs/{descriptor.digest.algorithm}/{descriptor.digest.hex}")
    parsed = parse_manifest_or_index(raw, descriptor.media_type)
    if isinstance(parsed, Index):
        for child in parsed.manifests:
            if f"blobs/{child.digest.algorithm}/{child.digest.hex}" in members:
                yield from _walk_blobs(members, child)
            elif not child.platform:
                raise InvalidArgument(f"archive is incomplete: manifest {child.digest} is missing")
    else:
        yield parsed.config
        for layer in parsed.layers:
            if layer.urls and f"blobs/{layer.digest.algorithm}/{layer.digest.hex}" not in members:
                continue  # non-distributable layer: its bytes live elsewhere
            yield layer
    yield descriptor


def _image_id(members: _Members, descriptor: Descriptor) -> Digest:
    raw = members.read(f"blobs/{descriptor.digest.algorithm}/{descriptor.digest.hex}")
    parsed = parse_manifest_or_index(raw, descriptor.media_type)
    if isinstance(parsed, Manifest):
        return parsed.config.digest
    return descriptor.digest


def _load_oci(store: LocalStore, members: _Members) -> list[LoadedImage]:
    index_doc = _json(members, "index.json")
    index = Index.parse(json.dumps(index_doc).encode())
    loaded: list[LoadedImage] = []
    for descriptor in index.manifests:
        for blob in _walk_blobs(members, descriptor):
            members.ingest(f"blobs/{blob.digest.algorithm}/{blob.digest.hex}", blob.digest)
        image = LoadedImage(descriptor, _image_id(members, descriptor))
        image.names = _names_from_annotations(descriptor.annotations)
        loaded.append(image)
    return loaded


def _diff_id(store: LocalStore, digest: Digest) -> tuple[Digest, str]:
    """The layer's diff_id and media type, from its stored bytes."""
    with store.content.open(digest) as stream:
        kind = detect(stream.read(6))
    if kind is None:
        return digest, mediatypes.OCI_LAYER
    hasher = Digester()
    with store.content.open(digest) as raw, decompressor(raw) as tar_stream:
        while chunk := tar_stream.read(_CHUNK):
            hasher.update(chunk)
    media_type = mediatypes.OCI_LAYER_GZIP if kind == "gzip" else mediatypes.OCI_LAYER_ZSTD
    return hasher.digest(), media_type


def _load_docker(store: LocalStore, members: _Members) -> list[LoadedImage]:
    entries = _json(members, "manifest.json")
    if not isinstance(entries, list):
        raise InvalidArgument("manifest.json in the archive is not a list of images")
    loaded: list[LoadedImage] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
            raise InvalidArgument("manifest.json entry without a Config path")
        config_name = _clean(entry["Config"])
        config_raw = members.read(config_name)
        config = ImageConfig.parse(config_raw)
        config_digest = members.lease.put_bytes(config_raw)
        layer_paths = entry.get("Layers") or []
        if len(layer_paths) != len(config.diff_ids):
            raise ManifestInvalid(
                f"manifest.json lists {len(layer_paths)} layers but config {config_name} "
                f"has {len(config.diff_ids)} diff_ids"
            )
        layers: list[Descriptor] = []
        for path, want in zip(layer_paths, config.diff_ids, strict=True):
            digest, size = members.ingest(_clean(path), _blob_path_digest(_clean(path)))
            diff_id, media_type = _diff_id(store, digest)
            if diff_id != want:
                raise ManifestInvalid(
                    f"layer {path} in the archive has diff_id {diff_id}, "
                    f"but the image config expects {want}: the archive is corrupt"
                )
            layers.append(Descriptor(media_type=media_type, digest=digest, size=size))
        config_desc = Descriptor(
            media_type=mediatypes.OCI_CONFIG, digest=config_digest, size=len(config_raw)
        )
        manifest = Manifest.build(config_desc, layers)
        members.lease.put_bytes(manifest.raw, expected=manifest.digest)
        image = LoadedImage(manifest.descriptor(platform=config.platform()), config_digest)
        for tag in entry.get("RepoTags") or []:
            try:
                image.names.append(Reference.parse_with_default_tag(tag))
            except ReferenceInvalid as exc:
                raise InvalidArgument(
                    f"manifest.json has an invalid RepoTag {tag!r}: {exc}"
                ) from exc
        loaded.append(image)
    return loaded


def load_archive(
    store: LocalStore, stream: IO[bytes] | BinaryIO, *, progress: Progress | None = None
) -> list[LoadedImage]:
    """Load every image in a docker-archive or oci-archive tar (maybe compressed) into the store.

    Returns what was loaded; tags are set and image records written before returning.
    """
    progress = progress or NullProgress()
    with store.lease(description="load") as lease:
        members = _Members(store, lease)
        try:
            with tarfile.open(fileobj=stream, mode="r|*", bufsize=_CHUNK) as tar:
                _read_members(tar, members, progress)
        except (tarfile.TarError, EOFError) as exc:
            if members.small or members.large or "unexpected end" in str(exc):
                raise InvalidArgument(
                    f"the image archive is truncated ({exc}); nothing was loaded: "
                    "save or download it again"
                ) from exc
            raise InvalidArgument(
                f"not a valid image archive: {exc} (expected a tar from `docker save` or an "
                "OCI archive)"
            ) from exc
        if "index.json" in members and "oci-layout" in members:
            loaded = _load_oci(store, members)
            if "manifest.json" in members and not any(i.names for i in loaded):
                _names_from_docker_manifest(members, loaded)
        elif "manifest.json" in members:
            loaded = _load_docker(store, members)
        else:
            raise InvalidArgument(
                "not an image archive: it has neither manifest.json (docker save) nor "
                "index.json + oci-layout (OCI archive)"
            )
        if not loaded:
            raise InvalidArgument("the archive holds no images")
        for image in loaded:
            _record(store, image)
    return loaded


def _names_from_docker_manifest(members: _Members, loaded: list[LoadedImage]) -> None:
    entries = _json(members, "manifest.json")
    by_config = {}
    for entry in entries if isinstance(entries, list) else []:
        config_path = _clean(str(entry.get("Config", "")))
        digest = _blob_path_digest(config_path)
        if digest is not None:
            by_config[digest] = entry.get("RepoTags") or []
    for image in loaded:
        for tag in by_config.get(image.image_id, []):
            image.names.append(Reference.parse_with_default_tag(tag))


def _record(store: LocalStore, image: LoadedImage) -> None:
    created: str | None = None
    raw = store.content.read_bytes(image.descriptor.digest)
    parsed = parse_manifest_or_index(raw, image.descriptor.media_type)
    if isinstance(parsed, Manifest):
        created = ImageConfig.parse(store.content.read_bytes(parsed.config.digest)).created
    config_digest = image.image_id if image.image_id != image.descriptor.digest else None
    store.record_image(image.descriptor.digest, config_digest, created)
    for name in image.names:
        store.set_tag(name, image.descriptor)
