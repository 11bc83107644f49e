"""A small in-process cache for the hot read paths (manifest by tag or digest, tag lists).

Every write to a repository's manifests or tags drops that repository's entries first, so a
reader in this process never sees stale data. Several processes sharing one database must
turn it off (``cache=False``), since one cannot see the others' writes.
"""

from __future__ import annotations

import threading

from dockyard.registry.metadata import ManifestRecord

__all__ = ["NoCache", "RegistryCache"]


class RegistryCache:
    def __init__(self, max_bytes: int = 64 << 20, max_entries: int = 50_000) -> None:
        self._manifests: dict[str, dict[str, ManifestRecord]] = {}
        self._tags: dict[str, list[str]] = {}
        self._generation: dict[str, int] = {}
        self._bytes = 0
        self._entries = 0
        self._max_bytes = max_bytes
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def manifest(self, repository: str, reference: str) -> ManifestRecord | None:
        entries = self._manifests.get(repository)
        return None if entries is None else entries.get(reference)

    def tags(self, repository: str) -> list[str] | None:
        return self._tags.get(repository)

    def generation(self, repository: str) -> int:
        return self._generation.get(repository, 0)

    def put_manifest(
        self, repository: str, reference: str, record: ManifestRecord, generation: int
    ) -> None:
        with self._lock:
            if self._generation.get(repository, 0) != generation:
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

    def put_tags(self, repository: str, names: list[str], generation: int) -> None:
        with self._lock:
            if self._generation.get(repository, 0) != generation:
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
            self._bytes = self._entries = 0

    def invalidate(self, repository: str) -> None:
        with self._lock:
            self._generation[repository] = self._generation.get(repository, 0) + 1
            self._tags.pop(repository, None)
            entries = self._manifests.pop(repository, {})
            self._entries -= len(entries)
            self._bytes -= sum(len(r.content) for r in entries.values())


class NoCache(RegistryCache):
    """A cache that never holds anything (for several processes sharing one database)."""

    def put_manifest(
        self, repository: str, reference: str, record: ManifestRecord, generation: int
    ) -> None:
        return

    def put_tags(self, repository: str, names: list[str], generation: int) -> None:
        return
