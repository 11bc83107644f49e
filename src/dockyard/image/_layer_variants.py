"""Where a copy keeps the layers it compresses on the way: a scratch store that goes with the
copy, or (for the local store) the store itself, which remembers them like docker does."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

from dockyard.content import ContentStore
from dockyard.digest import Digest
from dockyard.image._compression_policy import LayerCompression

__all__ = ["KeepsLayerVariants", "LayerVariants", "ScratchVariants"]


class LayerVariants(Protocol):
    """A content store for converted layers, and a memory of which layer became which blob."""

    @property
    def content(self) -> ContentStore: ...

    def recall(self, layer: Digest, compression: LayerCompression) -> tuple[Digest, int] | None:
        """The (digest, size) of ``layer`` converted to ``compression`` if it is still held."""
        ...

    def remember(self, layer: Digest, compression: LayerCompression, variant: Digest) -> None:
        """``variant`` (written to :attr:`content`) is ``layer`` converted to ``compression``."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class KeepsLayerVariants(Protocol):
    """An image source that keeps converted layers itself (the local store)."""

    def layer_variants(self) -> LayerVariants: ...


class ScratchVariants:
    """A content store in a temporary directory, removed by :meth:`close`."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="dockyard-layers-"))
        self._content = ContentStore(self._dir)
        self._known: dict[tuple[Digest, LayerCompression], Digest] = {}
        self._lock = threading.Lock()

    @property
    def content(self) -> ContentStore:
        return self._content

    def recall(self, layer: Digest, compression: LayerCompression) -> tuple[Digest, int] | None:
        with self._lock:
            variant = self._known.get((layer, compression))
        if variant is None or not self._content.exists(variant):
            return None
        return variant, self._content.size(variant)

    def remember(self, layer: Digest, compression: LayerCompression, variant: Digest) -> None:
        with self._lock:
            self._known[(layer, compression)] = variant

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
