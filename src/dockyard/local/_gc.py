"""Mark and sweep over the content store, following references recorded as data."""

from __future__ import annotations

import contextlib
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from dockyard.content import ContentStore
from dockyard.digest import Digest
from dockyard.errors import DockyardError
from dockyard.local._labels import GC_REF_LABEL, GC_ROOT_LABEL
from dockyard.metadata import MetadataStore
from dockyard.oci import Descriptor, Index, Manifest, parse_manifest_or_index
from dockyard.oci.mediatypes import is_index, is_manifest

__all__ = ["GcResult", "collect"]

_MAX_MANIFEST = 4 << 20  # the OCI distribution spec's manifest size limit
_STALE_INGEST = 24 * 3600.0  # seconds
_MTIME_SLACK = 2.0  # file timestamps come from a coarser clock than time.time()


@dataclass(frozen=True)
class GcResult:
    removed: tuple[Digest, ...]  # blobs deleted (or that would be, with dry_run)
    reclaimed: int  # bytes freed by those blobs
    kept: int  # blobs left in place
    ingests_removed: int  # abandoned temp files older than a day
    leases_expired: int
    warnings: tuple[str, ...]  # things that look wrong but did not stop the collection
    dry_run: bool


class _Marker:
    def __init__(self, content: ContentStore, refs: dict[Digest, list[Digest]]) -> None:
        self.content = content
        self.refs = refs
        self.marked: set[Digest] = set()
        self.warnings: list[str] = []
        self._queue: deque[tuple[Digest, str | None, bool]] = deque()

    def add(self, digest: Digest, media_type: str | None, *, descend: bool) -> None:
        """``media_type=None`` with ``descend`` means "a manifest or index of unknown type"."""
        self._queue.append((digest, media_type, descend))

    def run(self) -> None:
        while self._queue:
            digest, media_type, descend = self._queue.popleft()
            if digest in self.marked:
                continue
            self.marked.add(digest)
            for ref in self.refs.get(digest, []):
                self.add(ref, None, descend=False)
            if descend and (media_type is None or is_manifest(media_type) or is_index(media_type)):
                self._children(digest, media_type)

    def _children(self, digest: Digest, media_type: str | None) -> None:
        try:
            if self.content.size(digest) > _MAX_MANIFEST:
                return
            raw = self.content.read_bytes(digest)
            parsed = parse_manifest_or_index(raw, media_type)
        except DockyardError as exc:
            if self.content.exists(digest):
                self.warnings.append(
                    f"cannot read manifest {digest} ({exc}); it is kept but what it references "
                    "may be collected"
                )
            return
        if isinstance(parsed, Manifest):
            self._child(parsed.config)
            for layer in parsed.layers:
                self._child(layer)
        elif isinstance(parsed, Index):
            for child in parsed.manifests:
                self._child(child)
        if parsed.subject is not None:
            self._child(parsed.subject)

    def _child(self, desc: Descriptor) -> None:
        # Absent children are normal: one platform of an index, foreign layers with urls.
        self.add(desc.digest, desc.media_type, descend=True)


def collect(content: ContentStore, metadata: MetadataStore, *, dry_run: bool = False) -> GcResult:
    """Delete every blob not reachable from a tag, an image record, a live lease or a gc label.

    Blobs are listed before the roots are read, and the roots are read and the sweep done
    inside one write transaction, so work that takes a lease cannot interleave with it.
    """
    candidates = dict(content.walk())
    warnings: list[str] = []
    removed: list[Digest] = []
    reclaimed = 0
    with metadata.write():
        expired = 0 if dry_run else metadata.expire_leases()
        refs: dict[Digest, list[Digest]] = {}
        for subject, key, value in metadata.labelled(GC_REF_LABEL):
            try:
                refs.setdefault(subject, []).append(Digest.parse(value))
            except DockyardError:
                warnings.append(f"label {key}={value!r} on {subject} is not a digest; ignored")
        marker = _Marker(content, refs)
        for tag in metadata.tags():
            if not content.exists(tag.target.digest):
                warnings.append(f"tag {tag.ref} points at missing blob {tag.target.digest}")
            marker.add(tag.target.digest, tag.target.media_type, descend=True)
        for image in metadata.images():
            marker.add(image.manifest_digest, None, descend=True)
            if image.config_digest is not None:
                marker.add(image.config_digest, None, descend=False)
        leases = metadata.leases()
        for lease in leases:
            for digest in lease.digests:
                marker.add(digest, None, descend=False)
        for subject, _, _ in metadata.labelled(GC_ROOT_LABEL):
            marker.add(subject, None, descend=False)
        marker.run()
        warnings.extend(marker.warnings)
        fresh_since = (
            min(lease.created_at.timestamp() for lease in leases) - _MTIME_SLACK if leases else None
        )
        for digest, size in sorted(candidates.items()):
            if digest in marker.marked:
                continue
            path = content.blobs_dir / digest.algorithm / digest.hex
            try:
                if fresh_since is not None and path.stat().st_mtime >= fresh_since:
                    continue  # written while a lease is live
                if not dry_run:
                    path.unlink()
            except FileNotFoundError:
                continue
            removed.append(digest)
            reclaimed += size
    stale = content.stale_ingests(_STALE_INGEST)
    if not dry_run:
        for path in stale:
            _unlink(path)
    return GcResult(
        removed=tuple(removed),
        reclaimed=reclaimed,
        kept=len(candidates) - len(removed),
        ingests_removed=len(stale),
        leases_expired=expired,
        warnings=tuple(warnings),
        dry_run=dry_run,
    )


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
