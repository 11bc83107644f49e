"""The image a container runs: from the local store, for this machine's platform."""

from __future__ import annotations

from dockyard.container._platform import check_platform
from dockyard.errors import NotFound
from dockyard.image.blob import BlobImage, BlobIndex
from dockyard.image.store import open_store_image
from dockyard.local import LocalStore
from dockyard.oci import Platform
from dockyard.reference import Reference

__all__ = ["check_platform", "open_image"]


def open_image(store: LocalStore, name: str, platform: Platform | None = None) -> BlobImage:
    """The image ``name`` (a reference; ``:latest`` implied) names in the store: of an index,
    the child for ``platform`` (default: this machine's); a single image must be for
    ``platform`` when one is given (docker's "does not match the specified platform")."""
    ref = Reference.parse(name)
    try:
        root = open_store_image(store, ref)
    except NotFound:
        tagged = ref.familiar if ref.tag or ref.digest else f"{ref.familiar}:latest"
        raise NotFound(
            f"Unable to find image '{tagged}' locally; pull, load or build it first"
        ) from None
    if isinstance(root, BlobIndex):
        return root.image(root.index().select(platform or Platform.current()))
    if platform is not None:
        actual = root.config().platform().normalized()
        if actual.rank(platform) is None:
            raise NotFound(
                f"image with reference {name} was found but does not match the specified "
                f"platform: wanted {platform}, actual: {actual}",
                hint=f"build or pull it for {platform}, or leave --platform out",
            )
    return root
