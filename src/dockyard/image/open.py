"""Open any :class:`~dockyard.image.Location` as a copy source or destination.

The registry transport (``docker://``) is whatever the caller passes in (the registry client:
anything with ``source(ref)`` and ``destination(ref)``), and the local store is opened only when
a plain name asks for it, so ``image/`` depends on neither.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, Protocol

from dockyard.errors import InvalidArgument
from dockyard.image._endpoints import ImageDestination, ImageSource
from dockyard.image.layout import LayoutDestination, LayoutSource
from dockyard.image.transports import Location
from dockyard.reference import Reference

# The store and archive endpoints are imported where they are used: they pull in the local
# store's SQL metadata and the compressors, which a registry ↔ layout copy never needs.

if TYPE_CHECKING:
    from dockyard.local import LocalStore

__all__ = ["RegistryEndpoints", "StoreOpener", "open_destination", "open_source"]

ArchiveKind = Literal["docker", "oci"]

#: Opens the local store (called only for a plain-name location).
StoreOpener = Callable[[], "LocalStore"]


class RegistryEndpoints(Protocol):
    """What opens ``docker://`` locations: the registry client."""

    def source(self, ref: Reference) -> ImageSource: ...

    def destination(self, ref: Reference) -> ImageDestination: ...


def open_source(
    location: Location, *, registry: RegistryEndpoints, store: StoreOpener
) -> ImageSource:
    if location.kind == "docker":
        assert location.ref is not None
        return registry.source(location.ref)
    if location.kind == "store":
        from dockyard.image.store import StoreImageSource

        assert location.ref is not None
        return StoreImageSource(store(), location.ref)
    assert location.path is not None
    if location.kind == "oci":
        return LayoutSource(location.path, location.name)
    from dockyard.image._archive_endpoints import ArchiveSource

    return ArchiveSource(location.path, _archive_kind(location), location.name)


def open_destination(
    location: Location, *, registry: RegistryEndpoints, store: StoreOpener
) -> ImageDestination:
    if location.kind == "docker":
        assert location.ref is not None
        return registry.destination(location.ref)
    if location.kind == "store":
        from dockyard.image.store import StoreDestination

        assert location.ref is not None
        names = [location.ref] if location.ref.tag is not None else []
        return StoreDestination(store(), names, digest_names=[location.ref])
    assert location.path is not None
    if location.kind == "oci":
        return LayoutDestination(location.path, location.name)
    if location.path.is_dir():
        raise InvalidArgument(f"{location.path} is a directory; an archive must be a file")
    from dockyard.image._archive_endpoints import ArchiveDestination

    return ArchiveDestination(location.path, _archive_kind(location), location.name)


def _archive_kind(location: Location) -> ArchiveKind:
    return "oci" if location.kind == "oci-archive" else "docker"
