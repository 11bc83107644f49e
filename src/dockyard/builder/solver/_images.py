"""Base images (``FROM``, ``COPY --from=image``): from the local store, pulled when missing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from dockyard.errors import DockyardError, InvalidArgument, NotFound, ReferenceInvalid
from dockyard.image.blob import BlobImage, BlobIndex, open_any
from dockyard.image.store import StoreDestination, StoreSource
from dockyard.local import LocalStore
from dockyard.oci import Platform
from dockyard.reference import Reference

if TYPE_CHECKING:
    from dockyard.builder.frontend import BuildGraph

__all__ = ["ImageResolver", "check_bases", "local_base"]

#: Makes a registry client only when a pull is needed (the CLI passes its options).
ClientFactory = Callable[[], object]


class ImageResolver:
    """Finds each image once per build; ``pull`` asks the registry even when it is local."""

    def __init__(
        self,
        store: LocalStore,
        *,
        pull: bool = False,
        client_factory: ClientFactory | None = None,
        on_pull: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.pull = pull
        self._client_factory = client_factory
        self._on_pull = on_pull
        self._lock = threading.Lock()
        self._found: dict[tuple[str, str], BlobImage] = {}

    def get(self, name: str, platform: Platform) -> BlobImage:
        key = (name, str(platform))
        with self._lock:
            if key not in self._found:
                self._found[key] = self._resolve(name, platform)
            return self._found[key]

    def names(self) -> list[str]:
        """The image names resolved so far."""
        with self._lock:
            return sorted({name for name, _ in self._found})

    def _resolve(self, name: str, platform: Platform) -> BlobImage:
        try:
            ref = Reference.parse_with_default_tag(name)
        except ReferenceInvalid as e:
            raise ReferenceInvalid(f"invalid base image name {name!r}: {e.message}") from None
        if not self.pull:
            image = local_base(self.store, name, platform)
            if image is not None:
                return image
        try:
            self._pull(ref, platform)
        except DockyardError as e:
            raise NotFound(
                f"failed to resolve source metadata for {ref.familiar}: the image is not in the "
                f"local store and pulling it failed: {e.message}",
                hint=f"load it (dockyard load / import) or make {ref.domain} reachable",
            ) from None
        image = _pick(open_any(StoreSource(self.store), self.store.resolve(ref)), platform)
        return _check_platform(name, image, platform)

    def _pull(self, ref: Reference, platform: Platform) -> None:
        from dockyard.client import RegistryClient

        client = self._client_factory() if self._client_factory else RegistryClient()
        assert isinstance(client, RegistryClient)
        if self._on_pull:
            self._on_pull(ref.familiar)
        dest = StoreDestination(self.store, [ref] if ref.tag else [], digest_names=[ref])
        src = client.source(ref)
        try:
            from dockyard.image.copy import copy  # pulls only: its thread pool loads logging

            copy(src, dest, platform=platform)
        finally:
            dest.close()
            src.close()


def local_base(store: LocalStore, name: str, platform: Platform) -> BlobImage | None:
    """The base image ``name`` for ``platform`` from ``store`` alone, or ``None`` when a pull
    is needed: the store lacks ``name``, or it holds an index that lists ``platform`` whose
    child was not fetched (an index pulled for other platforms).

    A local index without ``platform`` and a single-platform image for another platform are
    errors naming the platforms (a pull of a local name would ask docker.io; ``--pull`` asks
    the registry anyway).
    """
    try:
        ref = Reference.parse_with_default_tag(name)
    except ReferenceInvalid as e:
        raise ReferenceInvalid(f"invalid base image name {name!r}: {e.message}") from None
    try:
        root = open_any(StoreSource(store), store.resolve(ref))
    except NotFound:
        return None
    if isinstance(root, BlobIndex):
        try:
            child = root.index().select(platform)
        except NotFound:
            have = ", ".join(str(p.normalized()) for p in root.index().platforms()) or "none"
            raise InvalidArgument(
                f"base image {name} ({have}) has no {platform.normalized()}",
                hint=f"build for one of {have}, use a base with {platform.normalized()}, or "
                "pass --pull to ask its registry",
            ) from None
        if not store.content.exists(child.digest):
            return None
        return _check_platform(name, root.image(child), platform)
    return _check_platform(name, root, platform)


def check_bases(store: LocalStore, graph: BuildGraph, *, pull: bool = False) -> None:
    """Before any step: every base image of a needed stage that ``store`` holds must have the
    stage's platform (:func:`local_base`'s errors); bases not held are pulled later."""
    if pull:
        return
    for stage in graph.needed():
        if stage.base_stage is None and not stage.is_scratch:
            local_base(store, stage.base_name, stage.platform or graph.target_platform)


def _pick(root: BlobImage | BlobIndex, platform: Platform) -> BlobImage:
    if isinstance(root, BlobImage):
        return root
    return root.image(root.index().select(platform))


def _check_platform(name: str, image: BlobImage, platform: Platform) -> BlobImage:
    """A single-platform base used for a platform it cannot run on is an error naming both."""
    config = image.config()
    if not config.architecture:
        return image
    have = config.platform().normalized()
    if not have.matches(platform.normalized()):
        raise InvalidArgument(
            f"base image {name} is for {have}, not {platform.normalized()} (the platform this "
            "stage builds for)",
            hint=f"use a multi-platform base, or one for {platform.normalized()}, or pin the "
            "stage with FROM --platform=…",
        )
    return image
