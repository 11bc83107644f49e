"""Write images as docker-archive or oci-archive tars, streaming (stdout works).

Both formats share one layout: an OCI image layout (``oci-layout``, ``index.json``,
``blobs/<alg>/<hex>``). The docker format adds ``manifest.json`` and ``repositories`` pointing at
the same blobs, which is what ``docker load`` reads (Docker 25+ writes the same combined shape).
Blobs are copied as stored: no recompression, so digests survive the trip.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, BinaryIO, Literal

from dockyard.errors import InvalidArgument
from dockyard.image._protocols import BlobSource
from dockyard.image.blob import BlobImage, BlobIndex, open_any
from dockyard.oci import Descriptor, Index, Platform, mediatypes
from dockyard.progress import NullProgress, Progress
from dockyard.reference import Reference

__all__ = ["ArchiveFormat", "ArchiveImage", "save_archive"]

ArchiveFormat = Literal["docker", "oci"]
_CHUNK = 1 << 20
NAME_ANNOTATION = "io.containerd.image.name"
REF_ANNOTATION = "org.opencontainers.image.ref.name"


@dataclass
class ArchiveImage:
    """One image to write: where its blobs are, its root descriptor, and the names to give it."""

    source: BlobSource
    descriptor: Descriptor
    names: list[Reference] = field(default_factory=list)


class _TarOut:
    def __init__(self, out: IO[bytes] | BinaryIO, progress: Progress) -> None:
        self.tar = tarfile.open(  # noqa: SIM115 - closed by close()
            fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, bufsize=_CHUNK
        )
        self.tar.copybufsize = _CHUNK  # type: ignore[attr-defined]
        self.written: set[str] = set()
        self.progress = progress
        self.mtime = int(time.time())

    def _info(self, name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o644
        info.mtime = self.mtime
        return info

    def add_dir(self, name: str) -> None:
        if name in self.written:
            return
        info = tarfile.TarInfo(name)
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        info.mtime = self.mtime
        self.tar.addfile(info)
        self.written.add(name)

    def add_bytes(self, name: str, data: bytes) -> None:
        self.tar.addfile(self._info(name, len(data)), io.BytesIO(data))
        self.written.add(name)

    def add_blob(self, source: BlobSource, descriptor: Descriptor) -> str:
        digest = descriptor.digest
        name = f"blobs/{digest.algorithm}/{digest.hex}"
        if name in self.written:
            return name
        self.add_dir("blobs/")
        self.add_dir(f"blobs/{digest.algorithm}/")
        key = str(digest)
        self.progress.start(key, f"Saving {digest.short}", descriptor.size)
        with source.open_blob(descriptor) as stream:
            self.tar.addfile(self._info(name, descriptor.size), _Counting(stream, self, key))
        self.progress.finish(key, "Saved")
        self.written.add(name)
        return name

    def close(self) -> None:
        self.tar.close()


class _Counting:
    """Wraps a blob stream so progress sees the bytes go by."""

    def __init__(self, stream: BinaryIO, out: _TarOut, key: str) -> None:
        self.stream = stream
        self.out = out
        self.key = key

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.out.progress.advance(self.key, len(data))
        return data


def _pick_image(root: BlobImage | BlobIndex, platform: Platform | None) -> BlobImage:
    if isinstance(root, BlobImage):
        return root
    chosen = root.index().select(platform or Platform.current())
    return root.image(chosen)


def _write_image_blobs(out: _TarOut, image: BlobImage) -> list[str]:
    manifest = image.manifest()
    out.add_blob(image.source, manifest.config)
    layers = [out.add_blob(image.source, layer) for layer in manifest.layers]
    out.add_blob(image.source, image.descriptor())
    return layers


def _write_tree(out: _TarOut, root: BlobImage | BlobIndex) -> None:
    if isinstance(root, BlobImage):
        _write_image_blobs(out, root)
        return
    for child in root.index().manifests:
        try:
            sub = open_any(root.source, child)
        except Exception:
            if child.platform is not None:
                continue  # a platform we never pulled; the index still names it
            raise
        _write_tree(out, sub)
    out.add_blob(root.source, root.descriptor())


def save_archive(
    images: Sequence[ArchiveImage],
    out: IO[bytes] | BinaryIO,
    *,
    format: ArchiveFormat = "docker",
    platform: Platform | None = None,
    progress: Progress | None = None,
) -> None:
    """Stream ``images`` into ``out`` as one tar. Shared blobs are written once."""
    if not images:
        raise InvalidArgument("nothing to save: name at least one image")
    progress = progress or NullProgress()
    tar = _TarOut(out, progress)
    index_entries: list[Descriptor] = []
    docker_entries: list[dict[str, object]] = []
    repositories: dict[str, dict[str, str]] = {}
    for item in images:
        root = open_any(item.source, item.descriptor)
        if format == "docker":
            # docker load wants one image manifest per entry: pick the platform from an index.
            image = _pick_image(root, platform)
            layer_paths = _write_image_blobs(tar, image)
            manifest = image.manifest()
            tags = [n.familiar for n in item.names if n.tag is not None]
            docker_entries.append(
                {
                    "Config": f"blobs/{manifest.config.digest.algorithm}/{manifest.config.digest.hex}",
                    "RepoTags": tags or None,
                    "Layers": layer_paths,
                }
            )
            for name in item.names:
                if name.tag is not None:
                    top = manifest.layers[-1].digest.hex if manifest.layers else ""
                    repositories.setdefault(name.familiar_name, {})[name.tag] = top
            descriptor = image.descriptor()
        else:
            _write_tree(tar, root)
            descriptor = item.descriptor
        entries = _index_entries(descriptor, item.names)
        index_entries.extend(e for e in entries if e not in index_entries)
    tar.add_bytes("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    index = Index.build(index_entries, media_type=mediatypes.OCI_INDEX)
    tar.add_bytes("index.json", index.raw)
    if format == "docker":
        tar.add_bytes("manifest.json", json.dumps(docker_entries, separators=(",", ":")).encode())
        if repositories:
            tar.add_bytes("repositories", json.dumps(repositories, separators=(",", ":")).encode())
    tar.close()


def _index_entries(descriptor: Descriptor, names: list[Reference]) -> list[Descriptor]:
    if not names:
        return [_annotated(descriptor, {})]
    out = []
    for name in names:
        annotations = {NAME_ANNOTATION: str(name)}
        if name.tag is not None:
            annotations[REF_ANNOTATION] = name.tag
        out.append(_annotated(descriptor, annotations))
    return out


def _annotated(descriptor: Descriptor, annotations: dict[str, str]) -> Descriptor:
    return Descriptor(
        media_type=descriptor.media_type,
        digest=descriptor.digest,
        size=descriptor.size,
        annotations=annotations or None,
        platform=descriptor.platform,
    )
