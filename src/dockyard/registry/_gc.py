"""Online garbage collection: runs while the registry serves pushes and pulls.

Nothing is made read-only. A blob is deleted only when no manifest refers to it and it was
neither pushed nor linked (mounted) within the grace period; the final check and the file
removal happen inside one write transaction, and a push records its blob (refreshing the
blob's time) before it relies on the file, so a push racing the collector never loses a blob.
Index children are manifests the index refers to, so they are kept; ``delete_untagged``
removes manifests with no tag, no parent index and no subject, repeatedly, before blobs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dockyard.digest import Digest
from dockyard.registry._registry import Registry
from dockyard.registry.metadata import GCQueries
from dockyard.registry.storage import StorageDriver, blob_key, parse_blob_key

__all__ = ["DEFAULT_GRACE", "GCReport", "collect_garbage"]

#: Blobs pushed or linked more recently than this are kept even when nothing refers to them
#: (a push uploads its layers before its manifest).
DEFAULT_GRACE = 3600.0


@dataclass
class GCReport:
    manifests: list[tuple[str, str]] = field(default_factory=list)
    blobs: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    uploads: int = 0
    dry_run: bool = False
    seconds: float = 0.0


def collect_garbage(
    registry: Registry,
    *,
    dry_run: bool = False,
    delete_untagged: bool = False,
    grace: float = DEFAULT_GRACE,
    upload_age: float = 7 * 24 * 3600.0,
) -> GCReport:
    began = time.monotonic()
    cutoff = time.time() - grace
    queries = GCQueries(registry.meta.db)
    storage = registry.storage
    report = GCReport(dry_run=dry_run)
    if delete_untagged:
        while True:
            found = [m for m in queries.untagged_manifests(cutoff) if m not in report.manifests]
            if not found:
                break
            report.manifests += found
            if dry_run:
                break  # children of these would follow in a real run
            for repository, digest in found:
                registry.delete_manifest(repository, digest)
        if report.manifests and not dry_run:
            queries.bump_generation()
    for digest, size in queries.unused_blobs(cutoff):
        remove = _remover(storage, blob_key(Digest.parse(digest)))
        if dry_run or queries.delete_blob(digest, cutoff, remove):
            report.blobs.append(digest)
            report.bytes_freed += size
    known = queries.known_blobs()
    for key in list(storage.list("blobs")):
        parsed = parse_blob_key(key)
        info = storage.stat(key)
        if info is None or info.mtime >= cutoff:
            continue
        if parsed is not None and str(parsed) in known:
            continue
        if dry_run or queries.delete_orphan(str(parsed), _remover(storage, key)):
            report.orphans.append(key)
            report.bytes_freed += info.size
    if not dry_run:
        report.uploads = registry.purge_uploads(upload_age)
    report.seconds = time.monotonic() - began
    return report


def _remover(storage: StorageDriver, key: str) -> Callable[[], None]:
    def remove() -> None:
        storage.delete(key)

    return remove
