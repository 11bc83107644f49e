"""``oci-archive:`` and ``docker-archive:`` tars as copy sources and destinations.

A source is one image of an archive, read in place by the one archive reader
(:mod:`._archive_reader`): an OCI layout inside the tar keeps every digest; a legacy
``docker save`` tar gets the manifest ``load`` builds. A destination is staged as a layout next
to the target and written as one tar on commit.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from dockyard.image._archive_reader import ArchiveBlobs, ArchiveImageSource, open_archive
from dockyard.image._archive_write import ArchiveImage, save_archive
from dockyard.image._endpoints import ImageSource, OpenStream
from dockyard.image.layout import LayoutDestination, LayoutSource
from dockyard.oci import Descriptor
from dockyard.reference import Reference

__all__ = ["ArchiveDestination", "ArchiveSource"]

Kind = Literal["docker", "oci"]


class ArchiveSource:
    """``docker-archive:FILE[:NAME]`` / ``oci-archive:FILE[:NAME]``: the image ``NAME`` names
    (a reference, or an OCI ``ref.name``), or the archive's only image."""

    def __init__(self, path: Path, kind: Kind, name: str | None = None) -> None:
        self.path = Path(path)
        self.kind = kind
        self.name = name
        # a compressed archive is read from an uncompressed copy beside it
        self._archive = open_archive(self.path, spool_dir=self.path.parent)
        try:
            entry = self._archive.select(name, f"{kind}-archive")
        except BaseException:
            self._archive.close()
            raise
        self._source = ArchiveImageSource(self._archive, entry, f"{kind}-archive")

    @property
    def blobs(self) -> ArchiveBlobs:
        return self._archive.blobs

    def describe(self) -> str:
        return f"{self.kind}-archive:{self.path}"

    def root(self) -> tuple[Descriptor, bytes]:
        return self._source.root()

    def close(self) -> None:
        self._archive.close()


class ArchiveDestination:
    keeps_partial_index = False

    def __init__(self, path: Path, kind: Kind, name: str | None = None) -> None:
        self.path = Path(path)
        self.kind = kind
        self.names: list[Reference] = []
        if name is not None:
            self.names = [
                Reference.parse_with_default_tag(name) if kind == "docker" else _oci_name(name)
            ]
        self._tmp = tempfile.TemporaryDirectory(prefix=".dockyard-archive-", dir=self.path.parent)
        self._layout = LayoutDestination(Path(self._tmp.name))

    def describe(self) -> str:
        return f"{self.kind}-archive:{self.path}"

    def has_blob(self, descriptor: Descriptor) -> bool:
        return self._layout.has_blob(descriptor)

    def mount_blob(self, descriptor: Descriptor, source: ImageSource) -> bool:
        return False

    def put_blob(self, descriptor: Descriptor, open_stream: OpenStream) -> None:
        self._layout.put_blob(descriptor, open_stream)

    def put_manifest(self, descriptor: Descriptor, raw: bytes) -> None:
        self._layout.put_manifest(descriptor, raw)

    def commit(self, root: Descriptor, raw: bytes) -> None:
        self._layout.put_manifest(root, raw)
        source = LayoutSource(self._layout.directory).blobs
        partial = self.path.with_name(f".{self.path.name}.partial")
        try:
            with open(partial, "wb") as out:
                save_archive([ArchiveImage(source, root, self.names)], out, format=self.kind)
            partial.replace(self.path)
        finally:
            partial.unlink(missing_ok=True)

    def close(self) -> None:
        self._layout.close()
        self._tmp.cleanup()


def _oci_name(name: str) -> Reference:
    """oci-archive:FILE:tag names the image by a bare tag, or a full reference."""
    if "/" in name or ":" in name:
        return Reference.parse_with_default_tag(name)
    return Reference.parse(f"localhost/image:{name}")
