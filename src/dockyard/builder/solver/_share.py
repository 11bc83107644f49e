"""Identical steps of builds that run at the same time, run once (BuildKit's in-flight vertex
deduplication).

The platforms of ``dockyard build --platform a,b`` are separate builds running side by side. A
stage with its own ``FROM --platform=…`` (the cross-compilation pattern) has the same cache keys
for every platform; the first build to reach such a step runs it, and the others wait for it and
take its result (reported as CACHED) instead of running it again, even with ``--no-cache``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.builder.cache.records import CachedLayer
    from dockyard.errors import RunFailed

__all__ = ["SharedSteps", "Slot"]


@dataclass
class Slot:
    """One cache key's outcome, once a build ran it: the layer record (or a text value, for
    stage times), or the step's own failure."""

    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    record: CachedLayer | None = None
    text: str | None = None
    failure: RunFailed | None = None


class SharedSteps:
    """The cache keys that the builds holding this object run or ran, one :class:`Slot` each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[str, Slot] = {}

    @contextmanager
    def once(self, key: str) -> Iterator[Slot]:
        """``key``'s slot, held by this thread alone: a second build asking for the same key
        waits here until the first has run the step and filled the slot (or failed)."""
        with self._lock:
            slot = self._slots.setdefault(key, Slot())
        with slot.lock:
            yield slot
