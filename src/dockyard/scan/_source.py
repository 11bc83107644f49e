"""What ``sbom``/``scan`` read: an image in the local store, a directory, or an image archive.

Archives are read by the image archive reader (``dockyard.image.open_archive``): uncompressed
files in place (random access into the tar, no copy), compressed ones from an uncompressed
temporary copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from dockyard.errors import InvalidArgument, NotFound
from dockyard.image.archive import open_archive
from dockyard.image.blob import BlobImage, open_any
from dockyard.image.store import StoreSource
from dockyard.imageservice import find_image, summaries
from dockyard.oci import Platform
from dockyard.scan._filesystem import LayerInput

if TYPE_CHECKING:  # images, archives and the store load only when such a source is scanned
    from dockyard.image.blob import BlobIndex
    from dockyard.local import LocalStore
    from dockyard.oci import Descriptor, ImageConfig

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


def image_source(kind: str, name: str, image: BlobImage, *, digests: bool = True) -> ScanSource:
    """What to scan in ``image`` (any blob source: a store, an archive, a registry's storage).
    ``digests=False`` reports no manifest or layer digests (an image that has none of its own)."""
    config = image.config()
    layers = [
        LayerInput(
            str(layer.diff_id),
            cast(Callable[[], IO[bytes]], layer.uncompressed),
            str(layer.descriptor.digest) if digests else "",
        )
        for layer in image.layers()
    ]
    return ScanSource(
        kind,
        name,
        layers,
        config=config,
        manifest_digest=str(image.descriptor().digest) if digests else "",
        steps=_steps(config, layers),
    )


def _archive(path: Path, platform: Platform | None) -> ScanSource:
    """The first image of a docker-archive or oci-archive, read in place by the image
    archive reader (a compressed one from an uncompressed temporary copy)."""

    archive = open_archive(path)
    try:
        entry = archive.entries[0]
        image = _pick(open_any(archive.blobs, entry.descriptor), platform)
        if archive.compressed:
            result = image_source("archive", str(path), image)
        elif entry.synthesized:
            # a legacy `docker save` tar: its layers and manifest have no digests of their own
            name = entry.names[0].familiar if entry.names else str(path)
            result = image_source("docker-archive", name, image, digests=False)
        else:
            result = image_source("oci-archive", str(path), image)
    except BaseException:
        archive.close()
        raise
    result._cleanup.append(archive.close)
    return result


def _store_image(store: LocalStore, text: str, platform: Platform | None) -> ScanSource:

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
