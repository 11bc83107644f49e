"""``tag``: give an image another name."""

from __future__ import annotations

from dockyard.errors import InvalidArgument
from dockyard.imageservice._lookup import find_image
from dockyard.imageservice._summary import summaries
from dockyard.local import LocalStore
from dockyard.reference import Reference

__all__ = ["tag_image"]


def tag_image(store: LocalStore, source: str, target: str) -> Reference:
    """Point ``target`` (``name[:tag]``, tag defaults to latest) at the image ``source`` names."""
    image = find_image(source, summaries(store))
    ref = Reference.parse_with_default_tag(target)
    if ref.digest is not None:
        raise InvalidArgument("refusing to create a tag with a digest reference")
    store.set_tag(ref, image.descriptor)
    return ref
