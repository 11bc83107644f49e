"""``oci-archive:`` and ``docker-archive:`` tars as copy sources and destinations.

A source tar is unpacked into a temporary directory; when it holds an OCI layout (OCI archives,
and docker-archives from Docker 25+ or dockyard) the manifests are used as they are, so digests
survive; a legacy ``docker save`` tar is loaded into a temporary store, which builds manifests.
A destination is staged as a layout next to the target and written as one tar on commit.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Literal

from dockyard.errors import InvalidArgument, NotFound
from dockyard.image._archive_read import load_archive
from dockyard.image._archive_write import ArchiveImage, save_archive
from dockyard.image._endpoints import ImageSource, OpenStream
from dockyard.image._layout import LayoutDestination, LayoutSource
from dockyard.image._protocols import BlobSource
from dockyard.image._store import StoreSource
from dockyard.local import LocalStore
from dockyard.oci import Descriptor
from dockyard.reference import Reference

__all__ = ["ArchiveDestination", "ArchiveSource"]

Kind = Literal["docker", "oci"]
NAME_ANNOTATION = "io.containerd.image.name"


def _safe_extract(tar_path: Path, into: Path) -> None:
    try:
        with tarfile.open(tar_path, mode="r:*") as tar:
            for info in tar:
                name = os.path.normpath(info.name.lstrip("/"))
                if name.startswith("..") or not info.isfile():
                    continue
                target = into / name
                target.parent.mkdir(parents=True, exist_ok=True)
                stream = tar.extractfile(info)
                assert stream is not None
                with open(target, "wb") as out:
                    shutil.copyfileobj(stream, out, 1 << 20)
    except FileNotFoundError:
        raise NotFound(f"archive {tar_path} does not exist") from None
    except (tarfile.TarError, EOFError) as exc:
        raise InvalidArgument(f"{tar_path} is not a readable image archive: {exc}") from exc


class ArchiveSource:
    def __init__(self, path: Path, kind: Kind, name: str | None = None) -> None:
        self.path = Path(path)
        self.kind = kind
        self.name = name
        self._tmp = tempfile.TemporaryDirectory(prefix=".dockyard-archive-", dir=self.path.parent)
        tmp = Path(self._tmp.name)
        self._blobs: BlobSource
        self._root: Descriptor
        _safe_extract(self.path, tmp)
        if (tmp / "index.json").exists() and (tmp / "oci-layout").exists():
            layout = LayoutSource(tmp, self._layout_name(tmp))
            self._blobs = layout.blobs
            self._root = layout.root_descriptor()
        elif (tmp / "manifest.json").exists():
            store = LocalStore(tmp / ".store")
            self._store = store
            with open(self.path, "rb") as f:
                loaded = load_archive(store, f)
            self._blobs = StoreSource(store)
            self._root = self._pick_loaded(loaded)
        else:
            raise InvalidArgument(
                f"{self.path} is not an image archive (no index.json + oci-layout, no manifest.json)"
            )

    def _layout_name(self, tmp: Path) -> str | None:
        if self.name is None:
            return None
        if self.kind == "oci":
            return self.name
        # docker-archive:FILE:name:tag — docker and dockyard annotate the full name
        wanted = str(Reference.parse_with_default_tag(self.name))
        doc = json.loads((tmp / "index.json").read_bytes())
        for entry in doc.get("manifests") or []:
            annotations = entry.get("annotations") or {}
            if annotations.get(NAME_ANNOTATION) in (wanted, self.name):
                return str(annotations[NAME_ANNOTATION])
        raise NotFound(f"no image named {self.name} in {self.path}")

    def _pick_loaded(self, loaded: list) -> Descriptor:  # type: ignore[type-arg]
        if self.name is None:
            if len(loaded) != 1:
                raise InvalidArgument(
                    f"{self.path} holds {len(loaded)} images; name one with "
                    f"docker-archive:{self.path}:NAME:TAG"
                )
            return loaded[0].descriptor  # type: ignore[no-any-return]
        wanted = Reference.parse_with_default_tag(self.name)
        for image in loaded:
            if wanted in image.names:
                return image.descriptor  # type: ignore[no-any-return]
        raise NotFound(f"no image named {self.name} in {self.path}")

    @property
    def blobs(self) -> BlobSource:
        return self._blobs

    def describe(self) -> str:
        return f"{self.kind}-archive:{self.path}"

    def root(self) -> tuple[Descriptor, bytes]:
        return self._root, self._blobs.read_blob(self._root)

    def close(self) -> None:
        store = getattr(self, "_store", None)
        if store is not None:
            store.close()
        self._tmp.cleanup()


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
