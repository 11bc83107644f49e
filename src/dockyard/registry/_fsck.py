"""fsck: check every stored blob against its digest, and the database against storage.

Reports three kinds of problem:

- **corrupt** blobs: bytes under ``blobs/`` that do not hash to the digest they are stored as
  (or not to the recorded size). With ``quarantine=True`` they are moved to ``quarantine/``
  (never deleted) and forgotten, so the registry answers BLOB_UNKNOWN and clients push them
  again;
- **missing** blobs: a manifest refers to a blob its repository cannot serve (no bytes, no
  record, or no link);
- **dangling** links: a repository is linked to a blob that has no bytes or no record.

Blobs are streamed (never read whole) and checked one at a time. It can run while the
registry serves: a push in flight records its blob a moment before the bytes land, so a
dangling link seen once and gone on the next run was such a push.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol

from dockyard.digest import Digest, Digester
from dockyard.errors import NotFound
from dockyard.registry._registry import Registry
from dockyard.registry.metadata import IntegrityQueries
from dockyard.registry.storage import blob_key, parse_blob_key

__all__ = ["CorruptBlob", "DanglingLink", "FsckProgress", "FsckReport", "MissingBlob", "fsck"]

_READ = 1 << 20
#: The key progress is reported under.
PROGRESS_KEY = "blobs"


class FsckProgress(Protocol):
    """Where progress goes (the CLI's rich bar or plain lines)."""

    def start(self, key: str, description: str, total: int | None = None) -> None: ...

    def advance(self, key: str, amount: int) -> None: ...

    def finish(self, key: str, status: str = "done") -> None: ...


@dataclass(frozen=True, slots=True)
class CorruptBlob:
    digest: str
    #: bytes on disk, and the digest they hash to
    size: int
    actual: str
    #: the size the database records (None: no record)
    recorded_size: int | None
    repositories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MissingBlob:
    repository: str
    manifest: str
    digest: str
    reason: str


@dataclass(frozen=True, slots=True)
class DanglingLink:
    repository: str
    digest: str
    reason: str


@dataclass(slots=True)
class FsckReport:
    blobs_checked: int = 0
    bytes_checked: int = 0
    corrupt: list[CorruptBlob] = field(default_factory=list)
    missing: list[MissingBlob] = field(default_factory=list)
    dangling: list[DanglingLink] = field(default_factory=list)
    #: where quarantined blobs went (storage keys under ``quarantine/``)
    quarantined: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.corrupt or self.missing or self.dangling)


def fsck(
    registry: Registry, *, quarantine: bool = False, progress: FsckProgress | None = None
) -> FsckReport:
    """Check ``registry``'s blobs and records; with ``quarantine`` move corrupt blobs aside."""
    began = time.monotonic()
    storage = registry.storage
    queries = IntegrityQueries(registry.meta.db)
    report = FsckReport()
    stored: dict[Digest, int] = {}
    for key in sorted(storage.list("blobs")):
        digest = parse_blob_key(key)
        info = storage.stat(key)
        if digest is not None and info is not None:
            stored[digest] = info.size
    recorded = queries.recorded_blobs()
    links = queries.links()
    linked_to: dict[str, list[str]] = defaultdict(list)
    for repository, digest_text in links:
        linked_to[digest_text].append(repository)
    if progress is not None:
        progress.start(PROGRESS_KEY, f"checking {len(stored)} blob(s)", total=sum(stored.values()))
    bad: list[Digest] = []
    for digest, size in stored.items():
        actual = _hash(registry, digest, progress)
        if actual is None:  # deleted meanwhile (garbage collection)
            continue
        report.blobs_checked += 1
        report.bytes_checked += size
        want = recorded.get(str(digest))
        if actual != digest or (want is not None and want != size):
            bad.append(digest)
            report.corrupt.append(
                CorruptBlob(
                    str(digest), size, str(actual), want, tuple(linked_to.get(str(digest), ()))
                )
            )
    if progress is not None:
        status = f"{len(report.corrupt)} corrupt" if report.corrupt else "ok"
        progress.finish(PROGRESS_KEY, status)
    corrupt = {str(d) for d in bad}
    present = {str(d) for d in stored} - corrupt
    usable = present & recorded.keys()
    for repository, digest_text in links:
        if digest_text in corrupt:
            continue  # reported as corrupt
        if digest_text not in usable:
            reason = "no bytes in storage" if digest_text not in present else "no blob record"
            report.dangling.append(DanglingLink(repository, digest_text, reason))
    link_set = set(links)
    for repository, manifest, digest_text in queries.manifest_blobs():
        if digest_text in corrupt:
            continue
        if digest_text not in usable:
            reason = "no bytes in storage" if digest_text not in present else "no blob record"
        elif (repository, digest_text) not in link_set:
            reason = f"not linked to {repository}"
        else:
            continue
        report.missing.append(MissingBlob(repository, manifest, digest_text, reason))
    if quarantine:
        for digest in bad:
            if _hash(registry, digest, None) in (digest, None):
                continue  # pushed again (good bytes) or deleted since it was checked
            where = registry.quarantine_blob(digest)
            if where is not None:
                report.quarantined.append(where)
    report.seconds = time.monotonic() - began
    return report


def _hash(registry: Registry, digest: Digest, progress: FsckProgress | None) -> Digest | None:
    """What the stored bytes of ``digest`` hash to (streamed); None when they are gone."""
    digester = Digester(digest.algorithm)
    try:
        f = registry.storage.reader(blob_key(digest))
    except NotFound:
        return None
    with f:
        while chunk := f.read(_READ):
            digester.update(chunk)
            if progress is not None:
                progress.advance(PROGRESS_KEY, len(chunk))
    return digester.digest()
