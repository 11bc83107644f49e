"""Store a layer in one streaming pass: tar → diff_id hash → compressor → content writer."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from dockyard.content import ContentStore, ContentWriter
from dockyard.digest import Digest, Digester
from dockyard.errors import InvalidArgument
from dockyard.layers._compression import CHUNK_SIZE, Compression, compressor
from dockyard.layers._create import tar_directory

__all__ = ["LayerBlob", "TarSource", "media_type_for", "write_layer"]

#: What :func:`write_layer` stores: a directory (tarred whole), a function that writes an
#: uncompressed layer tar into the stream it is given (e.g. a :func:`tar_diff`), or a readable
#: stream of an uncompressed layer tar.
TarSource = Path | Callable[[BinaryIO], None] | BinaryIO

_MEDIA_TYPES: dict[Compression | None, str] = {
    None: "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


def media_type_for(compression: Compression | None) -> str:
    """The OCI layer media type for a compression."""
    return _MEDIA_TYPES[compression]


@dataclass(frozen=True)
class LayerBlob:
    """A layer as stored: ``digest``/``size`` of the blob, ``diff_id`` of the plain tar."""

    digest: Digest
    diff_id: Digest
    size: int
    media_type: str
    #: Size of the uncompressed tar.
    uncompressed_size: int


class _Sink(io.RawIOBase):
    """A file-like end for the compressor that forwards to the content writer."""

    def __init__(self, writer: ContentWriter) -> None:
        self._writer = writer

    def writable(self) -> bool:
        return True

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        return self._writer.write(bytes(b))


class _HashingWriter(io.RawIOBase):
    """Hashes the uncompressed tar (the diff_id) on its way into the compressor."""

    def __init__(self, dst: BinaryIO) -> None:
        self._dst = dst
        self.digester = Digester()

    def writable(self) -> bool:
        return True

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self.digester.update(b)
        self._dst.write(b)
        return len(b)


def write_layer(
    tar_source: TarSource,
    store: ContentStore,
    compression: Compression | None = "gzip",
    *,
    level: int | None = None,
) -> LayerBlob:
    """Tar (if needed), hash, compress and store a layer in one pass; nothing is held in memory.

    The blob becomes visible in ``store`` only once complete and verified; on any error the
    partial blob is discarded.
    """
    if compression not in _MEDIA_TYPES:
        raise InvalidArgument(f"unknown layer compression {compression!r}: use gzip, zstd or None")
    with store.writer() as writer:
        packed = compressor(compression, cast(BinaryIO, _Sink(writer)), level)
        hashing = _HashingWriter(packed)
        out = cast(BinaryIO, hashing)
        if isinstance(tar_source, Path):
            tar_directory(tar_source, out)
        elif callable(tar_source):
            tar_source(out)
        else:
            while chunk := tar_source.read(CHUNK_SIZE):
                out.write(chunk)
        packed.close()
        digest, size = writer.commit()
    return LayerBlob(
        digest=digest,
        diff_id=hashing.digester.digest(),
        size=size,
        media_type=media_type_for(compression),
        uncompressed_size=hashing.digester.size,
    )
