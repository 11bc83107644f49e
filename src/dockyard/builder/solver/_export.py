"""The result of a build: the image (config, manifest) in the store, its names, and the
``--output`` forms (OCI or docker archive, the final filesystem in a directory), ``--push``."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.builder.solver._lease import LazyLease
from dockyard.builder.solver._results import StageResult
from dockyard.builder.worker import Worker
from dockyard.digest import Digest
from dockyard.errors import FailedPrecondition, InvalidArgument
from dockyard.local import PARENT_LABEL, LocalStore
from dockyard.oci import Descriptor, ImageConfig, Manifest, Platform, mediatypes
from dockyard.reference import Reference

if TYPE_CHECKING:
    from dockyard.builder.cache.transfer import CacheRecord

__all__ = [
    "BuiltImage",
    "image_for",
    "is_recorded",
    "record_image",
    "write_archive",
    "write_directory",
    "write_image",
]


@dataclass
class BuiltImage:
    """What ``build`` made: the image ID (config digest), its manifest and names."""

    id: Digest
    manifest: Manifest
    config: ImageConfig
    platform: Platform
    tags: list[Reference] = field(default_factory=list)
    steps_cached: int = 0
    steps_run: int = 0
    pushed: dict[str, Digest] = field(default_factory=dict)
    #: the base image names the build resolved (FROM, COPY --from, RUN --mount from=)
    base_names: list[str] = field(default_factory=list)
    #: every layer step of every stage built came from the cache
    all_cached: bool = False
    #: the keys of the cache records the build read (a no-op record stands for their use)
    cache_keys: list[str] = field(default_factory=list)
    #: per ``BuildOptions.cache_modes`` mode, the cache records the build used (for an export)
    cache_records: dict[str, list[CacheRecord]] = field(default_factory=dict)

    @property
    def descriptor(self) -> Descriptor:
        return self.manifest.descriptor(platform=self.platform)


def image_for(result: StageResult, *, labels: dict[str, str]) -> BuiltImage:
    """The config and manifest of ``result`` (nothing is written yet)."""
    state = result.plan.state
    config = dict(state.config)
    if labels:
        config["Labels"] = {**(config.get("Labels") or {}), **labels}
    if not config.get("Labels"):
        config.pop("Labels", None)
    platform = result.platform
    data: dict[str, Any] = {
        "architecture": platform.architecture,
        "os": platform.os,
        "config": config,
        "created": result.created,
        "history": [h.to_json() for h in result.history],
        "rootfs": {"type": "layers", "diff_ids": [str(layer.diff_id) for layer in result.layers]},
    }
    if platform.variant:
        data["variant"] = platform.variant
    if state.author:
        data["author"] = state.author
    image_config = ImageConfig.build(data)
    manifest = Manifest.build(
        Descriptor(mediatypes.OCI_CONFIG, image_config.digest, image_config.size),
        [layer.descriptor() for layer in result.layers],
    )
    return BuiltImage(
        id=image_config.digest,
        manifest=manifest,
        config=image_config,
        platform=platform,
        steps_cached=result.steps_cached,
        steps_run=result.steps_run,
    )


def write_image(store: LocalStore, lease: LazyLease, image: BuiltImage) -> None:
    """Write ``image``'s config and manifest blobs (held by ``lease``)."""
    lease.put_bytes(image.config.raw, expected=image.id)
    lease.put_bytes(image.manifest.raw, expected=image.manifest.digest)


def is_recorded(
    store: LocalStore, image: BuiltImage, tags: list[Reference], parent: Digest | None
) -> bool:
    """Whether the store already has ``image`` recorded, with its base noted and every tag
    pointing at it (a rebuild with nothing changed), so that recording it would change nothing."""
    digest = image.manifest.digest
    if not (store.content.exists(digest) and store.content.exists(image.id)):
        return False
    if store.metadata.image(digest) is None:
        return False
    if parent is not None and store.labels(digest).get(PARENT_LABEL) != str(parent):
        return False
    for ref in tags:
        record = store.metadata.get_tag(ref)
        if record is None or record.target.digest != digest:
            return False
    image.tags = list(tags)
    return True


def record_image(
    store: LocalStore, image: BuiltImage, tags: list[Reference], parent: Digest | None
) -> None:
    """Record the image in the store, name it, and note its base (docker's Parent)."""
    with store.metadata.write():  # the record and its base label: one commit
        store.record_image(image.manifest.digest, image.id, image.config.created)
        if parent is not None:
            store.set_labels(image.manifest.digest, {PARENT_LABEL: str(parent)})
    for ref in tags:
        store.set_tag(ref, image.descriptor)
    image.tags = list(tags)


def write_archive(
    store: LocalStore, image: BuiltImage, kind: str, dest: Path, tags: list[Reference]
) -> None:
    """``--output type=oci|docker,dest=F`` (``-`` is stdout); written atomically."""
    from dockyard.image.archive import ArchiveImage, save_archive
    from dockyard.image.store import StoreSource

    item = ArchiveImage(StoreSource(store), image.descriptor, list(tags))
    fmt = "oci" if kind == "oci" else "docker"
    if str(dest) == "-":
        save_archive([item], sys.stdout.buffer, format=fmt)  # type: ignore[arg-type]
        return
    if dest.is_dir():
        raise InvalidArgument(f"--output dest {dest} is a directory; an archive must be a file")
    tmp = dest.with_name(f".{dest.name}.tmp")
    with open(tmp, "wb") as out:
        save_archive([item], out, format=fmt)  # type: ignore[arg-type]
    tmp.replace(dest)


def write_directory(worker: Worker, snapshot_root: Path, dest: Path) -> None:
    """``--output type=local,dest=DIR``: the final filesystem, owners and modes kept."""
    dest.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["cp", "-a", "--reflink=auto", f"{snapshot_root}/.", f"{dest}/"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise FailedPrecondition(f"cannot write the build result to {dest}: {done.stderr.strip()}")
