"""``inspect``/``history --platform``: one platform's image of a multi-platform image."""

from __future__ import annotations

from dataclasses import replace

from dockyard.errors import NotFound
from dockyard.image.blob import BlobIndex, open_any
from dockyard.image.store import StoreSource
from dockyard.imageservice._summary import ImageSummary, parse_time
from dockyard.local import LocalStore
from dockyard.oci import Platform

__all__ = ["for_platform"]


def for_platform(store: LocalStore, summary: ImageSummary, platform: Platform) -> ImageSummary:
    """``summary`` narrowed to the child of its index that fits ``platform`` (docker's choice
    with the containerd image store); an image that is not an index must be of ``platform``."""
    root = open_any(StoreSource(store), summary.descriptor)
    wanted = platform.normalized()
    if not isinstance(root, BlobIndex):
        config = summary.config
        have = config.platform() if config is not None else None
        if have is not None and not have.matches(wanted):
            raise NotFound(
                f"image {summary.id.short} is for {have.normalized()}, not {wanted}",
                hint="leave out --platform, or name a multi-platform image",
            )
        return summary
    child = root.index().select(wanted)
    if not store.content.exists(child.digest):
        raise NotFound(
            f"the {wanted} image of {summary.id.short} is not in the local store",
            hint="pull that platform: dockyard pull --platform " + str(wanted),
        )
    image = root.image(child)
    config = image.config()
    return replace(
        summary,
        id=config.digest,
        descriptor=child,
        config=config,
        size=sum(layer.size for layer in image.manifest().layers),
        created=parse_time(config.created) or summary.created,
    )
