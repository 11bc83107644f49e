"""What ``sbom``/``scan`` read: an image in the local store, a directory, or an image archive.

Uncompressed archive files are read in place (random access into the tar, no copy); compressed
ones are loaded into a temporary store first.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

from dockyard.errors import InvalidArgument, NotFound
from dockyard.scan._filesystem import LayerInput

if TYPE_CHECKING:  # images, archives and the store load only when such a source is scanned
    from dockyard.image import BlobImage, BlobIndex
    from dockyard.local import LocalStore
    from dockyard.oci import Descriptor, ImageConfig, Platform

__all__ = ["LayerStep", "ScanSource", "image_source", "open_source"]


@dataclass(frozen=True, slots=True)
class LayerStep:
    """A layer and the history entry (Dockerfile step) that created it."""

    diff_id: str
    digest: str
    created_by: str


@dataclass
class ScanSource:
    kind: str  # image, directory, docker-archive, oci-archive
    name: str
    layers: list[LayerInput] = field(default_factory=list)
    directory: Path | None = None
    config: ImageConfig | None = None
    manifest_digest: str = ""
    steps: list[LayerStep] = field(default_factory=list)
    _cleanup: list[Callable[[], None]] = field(default_factory=list)

    @property
    def image_id(self) -> str:
        return str(self.config.digest) if self.config is not None else ""

    def close(self) -> None:
        while self._cleanup:
            self._cleanup.pop()()

    def __enter__(self) -> ScanSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _steps(config: ImageConfig, layers: list[LayerInput]) -> list[LayerStep]:
    history = config.data.get("history") or []
    created = [
        str(h.get("created_by", ""))
        for h in history
        if isinstance(h, dict) and not h.get("empty_layer")
    ]
    if len(created) != len(layers):
        created = [""] * len(layers)
    return [
        LayerStep(layer.diff_id, layer.digest, step)
        for layer, step in zip(layers, created, strict=True)
    ]


def _pick(opened: BlobImage | BlobIndex, platform: Platform | None) -> BlobImage:
    from dockyard.image import BlobImage
    from dockyard.oci import Platform

    if isinstance(opened, BlobImage):
        return opened
    wanted = platform or Platform.current()
    best: tuple[int, Descriptor] | None = None
    for desc in opened.index().manifests:
        if desc.platform is None:
            continue
        rank = desc.platform.rank(wanted)
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, desc)
    if best is None:
        raise NotFound(f"the image index has no manifest for platform {wanted}")
    return opened.image(best[1])


def image_source(kind: str, name: str, image: BlobImage) -> ScanSource:
    """What to scan in ``image`` (any blob source: a store, an archive, a registry's storage)."""
    config = image.config()
    layers = [
        LayerInput(
            str(layer.diff_id),
            cast(Callable[[], IO[bytes]], layer.uncompressed),
            str(layer.descriptor.digest),
        )
        for layer in image.layers()
    ]
    return ScanSource(
        kind,
        name,
        layers,
        config=config,
        manifest_digest=str(image.descriptor().digest),
        steps=_steps(config, layers),
    )


class _TarBlobs:
    """Blobs of an OCI archive read in place (``blobs/<alg>/<hex>`` members)."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar

    def _member(self, descriptor: Descriptor) -> IO[bytes]:
        d = descriptor.digest
        name = f"blobs/{d.algorithm}/{d.hex}"
        try:
            member = self.tar.extractfile(name)
        except KeyError:
            member = None
        if member is None:
            raise NotFound(f"the archive has no blob {d} ({name})")
        return member

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        return cast(BinaryIO, self._member(descriptor))

    def read_blob(self, descriptor: Descriptor) -> bytes:
        return self._member(descriptor).read()


def _tar_json(tar: tarfile.TarFile, name: str) -> Any:
    member = tar.extractfile(name)
    if member is None:
        raise InvalidArgument(f"{name} in the archive is not a file")
    return json.loads(member.read())


def _docker_archive(path: Path, tar: tarfile.TarFile) -> ScanSource:
    entries = _tar_json(tar, "manifest.json")
    if not isinstance(entries, list) or not entries:
        raise InvalidArgument(f"{path}: manifest.json lists no images")
    entry = entries[0]
    from dockyard.layers import decompressor
    from dockyard.oci import ImageConfig

    config = ImageConfig.parse(cast(IO[bytes], tar.extractfile(entry["Config"])).read())
    diff_ids = [str(d) for d in config.diff_ids]
    names = [str(p) for p in entry.get("Layers") or []]
    if len(names) != len(diff_ids):
        raise InvalidArgument(
            f"{path}: manifest.json lists {len(names)} layers but the config {len(diff_ids)}"
        )

    def opener(member: str) -> Callable[[], IO[bytes]]:
        return lambda: cast(IO[bytes], decompressor(cast(BinaryIO, tar.extractfile(member))))

    layers = [LayerInput(d, opener(n), "") for d, n in zip(diff_ids, names, strict=True)]
    tags = entry.get("RepoTags") or []
    return ScanSource(
        "docker-archive",
        tags[0] if tags else str(path),
        layers,
        config=config,
        steps=_steps(config, layers),
    )


def _archive(path: Path, platform: Platform | None) -> ScanSource:
    with open(path, "rb") as f:
        head = f.read(262)
    if len(head) < 262 or head[257:262] != b"ustar":
        return _loaded_archive(path, platform)
    tar = tarfile.open(path, "r:")  # noqa: SIM115 - closed by the source's close()
    try:
        names = set(tar.getnames())
        if "index.json" in names and "oci-layout" in names:
            index = _tar_json(tar, "index.json")
            manifests = index.get("manifests") or []
            if not manifests:
                raise InvalidArgument(f"{path}: index.json lists no manifests")
            source = _TarBlobs(tar)
            from dockyard.image import open_any
            from dockyard.oci import Descriptor

            desc = Descriptor.from_json(manifests[0], where="index.json")
            image = _pick(open_any(source, desc), platform)
            result = image_source("oci-archive", str(path), image)
        elif "manifest.json" in names:
            result = _docker_archive(path, tar)
        else:
            raise InvalidArgument(
                f"{path} is a tar but not an image archive (no manifest.json, no index.json); "
                "to scan a root filesystem tarball, `dockyard import` it first or unpack it"
            )
    except BaseException:
        tar.close()
        raise
    result._cleanup.append(tar.close)
    return result


def _loaded_archive(path: Path, platform: Platform | None) -> ScanSource:
    from dockyard.image import StoreSource, load_archive, open_any
    from dockyard.local import LocalStore

    tmp = Path(tempfile.mkdtemp(prefix="dockyard-scan-"))
    try:
        store = LocalStore.open(tmp)
        with open(path, "rb") as f:
            loaded = load_archive(store, f)
        image = _pick(open_any(StoreSource(store), loaded[0].descriptor), platform)
        result = image_source("archive", str(path), image)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    result._cleanup.append(lambda: shutil.rmtree(tmp, ignore_errors=True))
    return result


def _store_image(store: LocalStore, text: str, platform: Platform | None) -> ScanSource:
    from dockyard.image import StoreSource, open_any
    from dockyard.imageservice import find_image, summaries

    summary = find_image(text, summaries(store))
    image = _pick(open_any(StoreSource(store), summary.descriptor), platform)
    return image_source("image", text, image)


_PREFIXES = ("dir:", "docker-archive:", "oci-archive:", "archive:")


def open_source(
    target: str, store: Callable[[], LocalStore] | None = None, platform: Platform | None = None
) -> ScanSource:
    """Resolve ``target``: ``dir:PATH``, ``docker-archive:F``, ``oci-archive:F``, an existing
    directory or file, else an image name or ID in the local store."""
    scheme = ""
    for prefix in _PREFIXES:
        if target.startswith(prefix):
            scheme, target = prefix[:-1], target[len(prefix) :]
    path = Path(target)
    if scheme == "dir" or (not scheme and path.is_dir()):
        if not path.is_dir():
            raise NotFound(f"{target}: no such directory")
        return ScanSource("directory", str(path), directory=path)
    if scheme or path.is_file():
        if not path.is_file():
            raise NotFound(f"{target}: no such archive file")
        return _archive(path, platform)
    if store is None:
        raise NotFound(f"{target} is neither a directory, a file, nor an image in a store")
    try:
        return _store_image(store(), target, platform)
    except InvalidArgument:  # not an image reference either: say what was tried
        raise NotFound(
            f"{target}: no such directory or file, and not an image name or ID",
            hint="give an existing directory, an image archive (docker-archive:, oci-archive:)"
            " or an image in the local store",
        ) from None
