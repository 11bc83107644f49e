"""The image a container runs: from the local store, for this machine's platform."""

from __future__ import annotations

from dockyard.errors import NotFound, Unsupported
from dockyard.image.blob import BlobImage, BlobIndex
from dockyard.image.store import open_store_image
from dockyard.local import LocalStore
from dockyard.oci import Platform
from dockyard.reference import Reference

__all__ = ["check_platform", "open_image"]


def check_platform(text: str | None) -> None:
    """``--platform``: only this machine's is supported (no emulation)."""
    if not text:
        return
    wanted = Platform.parse(text).normalized()
    host = Platform.current().normalized()
    if (wanted.os, wanted.architecture) != (host.os, host.architecture) or (
        wanted.variant and wanted.variant != host.variant
    ):
        raise Unsupported(
            f"platform {text} cannot run on this {host} machine (no emulation); "
            f"use --platform {host} or leave it out"
        )


def open_image(store: LocalStore, name: str) -> BlobImage:
    """The image ``name`` (a reference; ``:latest`` implied) names in the store."""
    ref = Reference.parse(name)
    try:
        root = open_store_image(store, ref)
    except NotFound:
        tagged = ref.familiar if ref.tag or ref.digest else f"{ref.familiar}:latest"
        raise NotFound(
            f"Unable to find image '{tagged}' locally; pull, load or build it first"
        ) from None
    if isinstance(root, BlobIndex):
        return root.image(root.index().select(Platform.current()))
    return root
