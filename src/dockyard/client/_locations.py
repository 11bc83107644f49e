"""Open any :class:`~dockyard.image.Location` as a copy source or destination."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from dockyard.client._remote import RegistryClient
from dockyard.errors import InvalidArgument
from dockyard.image import ImageDestination, ImageSource, LayoutDestination, LayoutSource, Location

# The store and archive endpoints are imported where they are used: they pull in the local
# store's SQL metadata and the compressors, which a registry ↔ layout copy never needs.

if TYPE_CHECKING:
    from dockyard.local import LocalStore

ArchiveKind = Literal["docker", "oci"]

__all__ = ["open_destination", "open_source"]

StoreOpener = Callable[[], "LocalStore"]


def open_source(location: Location, client: RegistryClient, store: StoreOpener) -> ImageSource:
    if location.kind == "docker":
        assert location.ref is not None
        return client.source(location.ref)
    if location.kind == "store":
        from dockyard.image import StoreImageSource

        assert location.ref is not None
        return StoreImageSource(store(), location.ref)
    assert location.path is not None
    if location.kind == "oci":
        return LayoutSource(location.path, location.name)
    from dockyard.image import ArchiveSource

    kind: ArchiveKind = "oci" if location.kind == "oci-archive" else "docker"
    return ArchiveSource(location.path, kind, location.name)


def open_destination(
    location: Location, client: RegistryClient, store: StoreOpener
) -> ImageDestination:
    if location.kind == "docker":
        assert location.ref is not None
        return client.destination(location.ref)
    if location.kind == "store":
        from dockyard.image import StoreDestination

        assert location.ref is not None
        names = [location.ref] if location.ref.tag is not None else []
        return StoreDestination(store(), names, digest_names=[location.ref])
    assert location.path is not None
    if location.kind == "oci":
        return LayoutDestination(location.path, location.name)
    if location.path.is_dir():
        raise InvalidArgument(f"{location.path} is a directory; an archive must be a file")
    from dockyard.image import ArchiveDestination

    kind: ArchiveKind = "oci" if location.kind == "oci-archive" else "docker"
    return ArchiveDestination(location.path, kind, location.name)
