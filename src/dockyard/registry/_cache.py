"""A small in-process cache for the hot read paths (manifest by tag or digest, tag lists).

Every write to a repository's manifests or tags drops that repository's entries first, so a
reader in this process never sees stale data. Processes sharing one data directory also share
change counters (:class:`~dockyard.registry._shared.SharedGenerations`): a write anywhere bumps
the repository's counter, and an entry cached under an older counter is dropped when read.
Replicas on several hosts share the counters through Redis instead
(:class:`~dockyard.registry.redis.RedisGenerations`, when the ``redis:`` section is set); without
it, processes that share only a database must turn the cache off (``cache=False``).
"""

from __future__ import annotations

import threading

from dockyard.registry._shared import Generations
from dockyard.registry.metadata import ManifestRecord

#: What :meth:`RegistryCache.generation` returns: (this process's count, the shared count).
Generation = tuple[int, int]

__all__ = ["NoCache", "RegistryCache"]


class RegistryCache:
    def __init__(
        self,
        max_bytes: int = 64 << 20,
        max_entries: int = 50_000,
        shared: Generations | None = None,
    ) -> None:
        self._manifests: dict[str, dict[str, ManifestRecord]] = {}
        self._tags: dict[str, list[str]] = {}
        self._generation: dict[str, int] = {}
        self.shared = shared
        #: the shared counter each cached repository's entries were read under
        self._seen: dict[str, int] = {}
        self._bytes = 0
        self._entries = 0
        self._max_bytes = max_bytes
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def manifest(self, repository: str, reference: str) -> ManifestRecord | None:
        entries = self._manifests.get(repository)
        if entries is None:
            return None
        record = entries.get(reference)
        if record is not None and self.shared is not None and not self._fresh(repository):
            return None
        return record

    def tags(self, repository: str) -> list[str] | None:
        names = self._tags.get(repository)
        if names is not None and self.shared is not None and not self._fresh(repository):
            return None
        return names

    def _fresh(self, repository: str) -> bool:
        """Whether no process changed ``repository`` since its entries were cached; drops
        them if one did."""
        assert self.shared is not None
        if self._seen.get(repository) == self.shared.get(repository):
            return True
        self.invalidate(repository)
        return False

    def generation(self, repository: str) -> Generation:
        """Take this before reading what will be cached, and pass it to ``put_*``."""
        shared = 0 if self.shared is None else self.shared.get(repository)
        return self._generation.get(repository, 0), shared

    def _current(self, repository: str, generation: Generation) -> bool:
        """Under the lock: nothing changed ``repository`` since ``generation`` was taken.
        Entries read under an older shared count are dropped first."""
        if self._generation.get(repository, 0) != generation[0]:
            return False
        if self.shared is not None:
            if self.shared.get(repository) != generation[1]:
                return False
            if self._seen.get(repository) != generation[1]:
                self._drop(repository)
                self._seen[repository] = generation[1]
        return True

    def put_manifest(
        self, repository: str, reference: str, record: ManifestRecord, generation: Generation
    ) -> None:
        with self._lock:
            if not self._current(repository, generation):
                return  # a write happened while this was read: do not cache old data
            if (
                self._bytes + len(record.content) > self._max_bytes
                or self._entries >= self._max_entries
            ):
                self._manifests.clear()
                self._bytes = self._entries = 0
            self._manifests.setdefault(repository, {})[reference] = record
            self._entries += 1
            self._bytes += len(record.content)

    def put_tags(self, repository: str, names: list[str], generation: Generation) -> None:
        with self._lock:
            if not self._current(repository, generation):
                return
            if len(self._tags) >= self._max_entries:
                self._tags.clear()
            self._tags[repository] = names

    def clear(self) -> None:
        with self._lock:
            for repository in set(self._manifests) | set(self._tags):
                self._generation[repository] = self._generation.get(repository, 0) + 1
            self._manifests.clear()
            self._tags.clear()
            self._seen.clear()
            self._bytes = self._entries = 0

    def invalidate(self, repository: str) -> None:
        with self._lock:
            self._generation[repository] = self._generation.get(repository, 0) + 1
            self._drop(repository)

    def _drop(self, repository: str) -> None:
        self._seen.pop(repository, None)
        self._tags.pop(repository, None)
        entries = self._manifests.pop(repository, {})
        self._entries -= len(entries)
        self._bytes -= sum(len(r.content) for r in entries.values())


class NoCache(RegistryCache):
    """A cache that never holds anything (for several processes sharing one database)."""

    def put_manifest(
        self, repository: str, reference: str, record: ManifestRecord, generation: Generation
    ) -> None:
        return

    def put_tags(self, repository: str, names: list[str], generation: Generation) -> None:
        return
