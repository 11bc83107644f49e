"""OCI image layout directories (``oci:DIR[:tag]``) as an image source and destination."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from dockyard.atomicfile import fsync_dir
from dockyard.content import BUFFER_SIZE, ContentStore, VerifyingReader
from dockyard.digest import digest_of
from dockyard.errors import (
    BlobUnknown,
    DigestInvalid,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from dockyard.image._endpoints import ImageSource, OpenStream
from dockyard.oci import Descriptor, Index, mediatypes

__all__ = ["REF_NAME", "LayoutDestination", "LayoutSource"]

REF_NAME = "org.opencontainers.image.ref.name"
NAME_ANNOTATION = "io.containerd.image.name"
LAYOUT_VERSION = "1.0.0"


def _index(root: Path) -> Index:
    path = root / "index.json"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(
            f"{root} is not an OCI image layout: it has no index.json",
            hint="give the directory an image was copied to with oci:DIR",
        ) from None
    return Index.parse(raw, mediatypes.OCI_INDEX)


class LayoutBlobs:
    """Blobs of a layout directory, verified as they are read."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, descriptor: Descriptor) -> Path:
        d = descriptor.digest
        return self.root / "blobs" / d.algorithm / d.hex

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        try:
            raw = VerifyingReader(self._path(descriptor), descriptor.digest, descriptor.size)
        except FileNotFoundError:
            raise BlobUnknown(f"blob {descriptor.digest} is missing from {self.root}") from None
        return io.BufferedReader(raw, buffer_size=BUFFER_SIZE)

    def read_blob(self, descriptor: Descriptor) -> bytes:
        try:
            data = self._path(descriptor).read_bytes()
        except FileNotFoundError:
            raise BlobUnknown(f"blob {descriptor.digest} is missing from {self.root}") from None
        descriptor.digest.verify(data)
        return data


class LayoutSource:
    """``oci:DIR[:name]``: the index.json entry whose ref.name is ``name`` (or the only one)."""

    def __init__(self, root: Path, name: str | None = None) -> None:
        self.directory = Path(root)
        self.name = name
        self._blobs = LayoutBlobs(self.directory)

    @property
    def blobs(self) -> LayoutBlobs:
        return self._blobs

    def describe(self) -> str:
        return f"oci:{self.directory}" + (f":{self.name}" if self.name else "")

    def root_descriptor(self) -> Descriptor:
        entries = _index(self.directory).manifests
        if self.name is None:
            if len(entries) == 1:
                return _plain(entries[0])
            names = sorted({(e.annotations or {}).get(REF_NAME, str(e.digest)) for e in entries})
            if not entries:
                raise NotFound(f"{self.directory} holds no images")
            raise InvalidArgument(
                f"{self.directory} holds {len(entries)} images; say which one with "
                f"oci:{self.directory}:NAME (names: {', '.join(names)})"
            )
        for entry in entries:
            annotations = entry.annotations or {}
            if self.name in (annotations.get(REF_NAME), annotations.get(NAME_ANNOTATION)):
                return _plain(entry)
        raise NotFound(f"no image named {self.name!r} in {self.directory}")

    def root(self) -> tuple[Descriptor, bytes]:
        descriptor = self.root_descriptor()
        return descriptor, self._blobs.read_blob(descriptor)

    def close(self) -> None:
        pass


def _plain(entry: Descriptor) -> Descriptor:
    return dataclasses.replace(entry, annotations=None)


class LayoutDestination:
    """Writes blobs atomically into ``DIR/blobs``; :meth:`commit` adds the index.json entry
    (replacing one with the same name)."""

    keeps_partial_index = False

    def __init__(self, root: Path, name: str | None = None) -> None:
        self.directory = Path(root)
        self.name = name
        if self.directory.exists() and not self.directory.is_dir():
            raise FailedPrecondition(f"{self.directory} exists and is not a directory")
        layout = self.directory / "oci-layout"
        if layout.exists():
            try:
                version = json.loads(layout.read_bytes()).get("imageLayoutVersion")
            except (ValueError, AttributeError):
                version = None
            if version != LAYOUT_VERSION:
                raise FailedPrecondition(f"{layout} is not an OCI layout {LAYOUT_VERSION}")
        had_ingest = (self.directory / "ingest").exists()
        self._content = ContentStore(self.directory)
        self._own_ingest = not had_ingest
        #: ``blobs/<alg>`` directories with renames not yet synced (commit syncs them)
        self._unsynced: set[str] = set()

    @property
    def content(self) -> ContentStore:
        return self._content

    def describe(self) -> str:
        return f"oci:{self.directory}" + (f":{self.name}" if self.name else "")

    def has_blob(self, descriptor: Descriptor) -> bool:
        return self._content.exists(descriptor.digest)

    def mount_blob(self, descriptor: Descriptor, source: ImageSource) -> bool:
        return False

    def put_blob(self, descriptor: Descriptor, open_stream: OpenStream) -> None:
        # Durability: the content store fsyncs each blob's bytes before the rename publishes
        # it, and copy() calls this from its worker threads, so those syncs overlap the other
        # transfers (containers/image, skopeo, syncs every blob of an OCI layout too). The
        # renames are made durable by one sync of blobs/<alg> in commit(), before index.json
        # names any of them, instead of a directory sync per blob: nothing refers to a blob
        # until then, and a blob lost in a crash is fetched again by the next copy.
        with open_stream() as stream:
            self._content.ingest(
                stream, expected=descriptor.digest, size=descriptor.size, sync_dir=False
            )
        self._unsynced.add(descriptor.digest.algorithm)

    def put_manifest(self, descriptor: Descriptor, raw: bytes) -> None:
        self._content.put_bytes(raw, expected=descriptor.digest, sync_dir=False)
        self._unsynced.add(descriptor.digest.algorithm)

    def commit(self, root: Descriptor, raw: bytes) -> None:
        """Publish ``root``: its manifest blob, ``oci-layout`` and ``index.json``. The three
        files are staged and synced first, then renamed with one sync of each directory
        (``blobs/<alg>``, which also makes the renames of every blob put before durable, before
        ``index.json`` names the manifest; the layout root last), instead of a file and a
        directory sync apiece."""
        actual = digest_of(raw, root.digest.algorithm)
        if actual != root.digest or len(raw) != root.size:
            raise DigestInvalid(
                f"the manifest for {self.describe()} hashes to {actual} ({len(raw)} bytes), "
                f"not {root.digest} ({root.size} bytes)"
            )
        index_path = self.directory / "index.json"
        entries = list(_index(self.directory).manifests) if index_path.exists() else []
        annotations = {REF_NAME: self.name} if self.name else None
        entry = dataclasses.replace(root, annotations=annotations)
        if self.name:
            entries = [e for e in entries if (e.annotations or {}).get(REF_NAME) != self.name]
        else:
            entries = [e for e in entries if e.digest != root.digest]
        entries.append(entry)
        blob = self._content.blobs_dir / root.digest.algorithm / root.digest.hex
        staged: list[tuple[Path, Path]] = []
        try:
            if not blob.exists():
                blob.parent.mkdir(parents=True, exist_ok=True)
                # staged in ingest/ (as the content store does): no stray files under blobs/
                staged.append((_stage(blob, raw, 0o444, self._content.ingest_dir), blob))
            layout = self.directory / "oci-layout"
            if not layout.exists():  # an existing one was checked when this was opened
                version = json.dumps({"imageLayoutVersion": LAYOUT_VERSION}).encode()
                staged.append((_stage(layout, version), layout))
            index_raw = Index.build(entries, media_type=mediatypes.OCI_INDEX).raw
            staged.append((_stage(index_path, index_raw), index_path))
            for tmp, target in staged:
                if target == blob:
                    os.replace(tmp, target)
            # also when every blob was already here: an earlier copy may have stopped
            # between its renames and its sync
            for algorithm in sorted(self._unsynced | {root.digest.algorithm}):
                fsync_dir(self._content.blobs_dir / algorithm)
            self._unsynced.clear()
            for tmp, target in staged:
                if target != blob:
                    os.replace(tmp, target)
        finally:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
        fsync_dir(self.directory)

    def close(self) -> None:
        if self._own_ingest:
            shutil.rmtree(self.directory / "ingest", ignore_errors=True)


def _stage(path: Path, data: bytes, mode: int = 0o644, where: Path | None = None) -> Path:
    """``data`` in a synced temporary file (beside ``path`` unless ``where`` is given, on
    the same file system), ready to be renamed over ``path``."""
    fd, name = tempfile.mkstemp(dir=where or path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)
