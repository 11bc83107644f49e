"""``import``: a root filesystem (tarball, directory or stdin) becomes a one-layer image."""

from __future__ import annotations

import bz2
import io
import lzma
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from dockyard.digest import Digest
from dockyard.errors import InvalidArgument, NotFound
from dockyard.imageservice._changes import apply_changes
from dockyard.layers import decompressor, tar_directory
from dockyard.local import LocalStore
from dockyard.oci import Descriptor, ImageConfig, Manifest, Platform, mediatypes
from dockyard.progress import NullProgress, Progress
from dockyard.reference import Reference

__all__ = ["import_image"]

_CHUNK = 1 << 20


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _uncompressed(stream: BinaryIO) -> BinaryIO:
    """Undo the compression docker import accepts: gzip, zstd, bzip2, xz."""
    peekable = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)  # type: ignore[type-var]
    head = peekable.peek(6)[:6]
    if head.startswith(b"BZh"):
        return cast(BinaryIO, bz2.BZ2File(peekable))
    if head.startswith(b"\xfd7zXZ\x00"):
        return cast(BinaryIO, lzma.LZMAFile(peekable))
    return decompressor(cast(BinaryIO, peekable))


def _copy(src: IO[bytes], writer: Any, progress: Progress, key: str) -> None:
    while chunk := src.read(_CHUNK):
        writer.write(chunk)
        progress.advance(key, len(chunk))


def import_image(
    store: LocalStore,
    source: str,
    repository: str | None = None,
    *,
    changes: list[str] | None = None,
    message: str | None = None,
    platform: Platform | None = None,
    progress: Progress | None = None,
    stdin: BinaryIO | None = None,
) -> Digest:
    """Import ``source`` (a tar file, maybe compressed; a directory; ``-`` for stdin).

    Returns the new image ID. The layer is stored uncompressed, so its digest is its diff_id.
    """
    progress = progress or NullProgress()
    ref = Reference.parse_with_default_tag(repository) if repository else None
    if ref is not None and ref.digest is not None:
        raise InvalidArgument("refusing to create a tag with a digest reference")
    platform = platform or Platform.current()
    base_config = apply_changes({}, changes or [])
    with store.lease() as lease:
        progress.start("import", f"Importing {source}", None)
        with lease.writer() as writer:
            if source == "-":
                with _uncompressed(stdin or sys.stdin.buffer) as tar_stream:
                    _copy(tar_stream, writer, progress, "import")
            else:
                path = Path(source)
                if path.is_dir():
                    tar_directory(path, writer)  # type: ignore[arg-type]
                elif path.is_file():
                    with open(path, "rb") as raw, _uncompressed(raw) as tar_stream:
                        _copy(tar_stream, writer, progress, "import")
                elif "://" in source:
                    raise InvalidArgument(
                        f"cannot import from {source}: URLs are not supported; download it and "
                        "import the file"
                    )
                else:
                    raise NotFound(f"open {source}: no such file or directory")
            layer_digest, layer_size = writer.commit()
        progress.finish("import", "Imported")
        created = _now()
        config_data: dict[str, Any] = {
            "architecture": platform.architecture,
            "os": platform.os,
            **({"variant": platform.variant} if platform.variant else {}),
            "config": base_config,
            "created": created,
            "history": [
                {
                    "created": created,
                    "comment": message or f"Imported from {source}",
                }
            ],
            "rootfs": {"type": "layers", "diff_ids": [str(layer_digest)]},
        }
        config = ImageConfig.build(config_data)
        lease.put_bytes(config.raw, expected=config.digest)
        manifest = Manifest.build(
            Descriptor(mediatypes.OCI_CONFIG, config.digest, len(config.raw)),
            [Descriptor(mediatypes.OCI_LAYER, layer_digest, layer_size)],
        )
        lease.put_bytes(manifest.raw, expected=manifest.digest)
        store.record_image(manifest.digest, config.digest, created)
        if ref is not None:
            store.set_tag(ref, manifest.descriptor(platform=platform))
    return config.digest
