"""Online garbage collection: runs while the registry serves pushes and pulls.

Nothing is made read-only. A blob is deleted only when no manifest refers to it and it was
neither pushed nor linked (mounted) within the time window (``grace``, Harbor's
``time_window``); the final check and the file removal happen inside one write transaction,
and a push records its blob (refreshing the blob's time) before it relies on the file, so a
push racing the collector never loses a blob. Deletes go in batches, one write transaction
each, the files of a batch removed by ``workers`` threads. A batch is sized by the time it
holds the write lock, not by a row count (:class:`_Pacer`: about :data:`HOLD` seconds, so a
push that arrives meanwhile waits that long at most), and after each one the collector leaves
the lock free: as long again as it held it, three times as long while writers have been
waiting for it in the last second (it asks the database, :meth:`Database.writers_waiting`),
and then until no writer waits any more (for up to :data:`MAX_YIELD`).

Index children are manifests the index refers to, so they are kept; ``delete_untagged``
removes manifests with no tag, no parent index and no subject, repeatedly (an index's
children go once the index has), before blobs; each is first offered to the registry's guard
chain (``check_delete``), and the repositories that lost manifests are reported to it
(``deleted``: projects give back quota) and each deletion is published as Harbor's
``DELETE_ARTIFACT`` event to ``events``. A dry run does all of this in a transaction that is
rolled back, so it reports exactly what a real run would delete and deletes nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dockyard.digest import Digest
from dockyard.errors import DockyardError
from dockyard.registry._registry import Registry
from dockyard.registry.events import DELETE_ARTIFACT, NO_EVENTS, Event, EventSink
from dockyard.registry.metadata import Database, GCQueries
from dockyard.registry.storage import StorageDriver, blob_key, parse_blob_key

__all__ = ["DEFAULT_GRACE", "MAX_WORKERS", "GCReport", "collect_garbage"]

log = logging.getLogger("dockyard.registry.gc")

T = TypeVar("T")

#: Blobs pushed or linked more recently than this are kept even when nothing refers to them
#: (a push uploads its layers before its manifest).
DEFAULT_GRACE = 3600.0
#: How long one of the collector's write transactions should hold the write lock (seconds):
#: a push arriving meanwhile waits at most about that long.
HOLD = 0.025
#: Bounds of a batch (blobs, manifests or files per write transaction), and its first size.
MIN_BATCH = 5
MAX_BATCH = 500
FIRST_BATCH = 100
#: The pause after a batch, as a multiple of the time it held the lock: when no writer has
#: waited for the collector in the last ``CONTENDED_FOR`` seconds, and when one has.
IDLE_PAUSE = 1.0
CONTENDED_PAUSE = 3.0
CONTENDED_FOR = 1.0
#: The longest the collector keeps yielding to waiting writers after a pause (seconds):
#: writers arriving back to back must not stop it for good.
MAX_YIELD = 1.0
#: Harbor's bound on ``workers``.
MAX_WORKERS = 10


@dataclass
class GCReport:
    manifests: list[tuple[str, str]] = field(default_factory=list)
    blobs: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    uploads: int = 0
    dry_run: bool = False
    seconds: float = 0.0
    #: untagged manifests a guard refused to delete: (repository, digest, reason)
    kept: list[tuple[str, str, str]] = field(default_factory=list)
    #: files that could not be removed (their records stay): (key, error)
    errors: list[tuple[str, str]] = field(default_factory=list)
    #: the run was stopped before it finished (what it reports is done)
    stopped: bool = False
    workers: int = 1
    time_window: float = DEFAULT_GRACE


def collect_garbage(
    registry: Registry,
    *,
    dry_run: bool = False,
    delete_untagged: bool = False,
    grace: float = DEFAULT_GRACE,
    workers: int = 1,
    upload_age: float = 7 * 24 * 3600.0,
    progress: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
    events: EventSink = NO_EVENTS,
) -> GCReport:
    """Collect once. ``grace``: seconds (the time window) within which pushed or linked
    content is kept; ``workers``: threads removing files; ``progress`` is told each step in
    a line (a job's log); ``stop`` set ends the run between batches."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    began = time.monotonic()
    cutoff = time.time() - grace
    say = progress or (lambda line: log.debug("%s", line))
    report = GCReport(dry_run=dry_run, workers=workers, time_window=grace)
    queries = GCQueries(registry.meta.db)
    say(
        f"start: dry_run={dry_run} delete_untagged={delete_untagged} "
        f"time_window={grace / 3600:g}h workers={workers}"
    )
    if dry_run:
        # ``progress`` may write (a job's log): not while the rehearsal holds the write lock
        held: list[str] = []
        run = _Run(registry, report, cutoff, workers, held.append, stop or threading.Event())
        with queries.rehearsal() as rehearsal:
            run.collect(rehearsal, delete_untagged)
        for line in held:
            say(line)
    else:
        run = _Run(registry, report, cutoff, workers, say, stop or threading.Event())
        run.events = events
        run.collect(queries, delete_untagged)
        if not run.stopped():
            report.uploads = registry.purge_uploads(upload_age)
    report.stopped = run.stopped()
    report.seconds = time.monotonic() - began
    say(
        f"{'would delete' if dry_run else 'deleted'} {len(report.manifests)} manifest(s), "
        f"{len(report.blobs)} blob(s), {len(report.orphans)} unrecorded file(s): "
        f"{report.bytes_freed} bytes in {report.seconds:.1f} s"
        + ("; stopped" if report.stopped else "")
    )
    return report


class _Run:
    def __init__(
        self,
        registry: Registry,
        report: GCReport,
        cutoff: float,
        workers: int,
        say: Callable[[str], None],
        stop: threading.Event,
    ) -> None:
        self.registry = registry
        self.storage: StorageDriver = registry.storage
        self.report = report
        self.cutoff = cutoff
        self.workers = workers
        self.say = say
        self.stop = stop
        self.pool: ThreadPoolExecutor | None = None
        self.events: EventSink = NO_EVENTS
        self.pacer = _Pacer(registry.meta.db, stop)

    def stopped(self) -> bool:
        return self.stop.is_set()

    def _paced(self, count: int, write: Callable[..., list[T]], *args: Any) -> list[T]:
        """Run one write transaction of ``count`` items, then leave the lock free."""
        began = time.monotonic()
        done = write(*args)
        if not self.report.dry_run:
            self.pacer.after(count, time.monotonic() - began)
        return done

    def collect(self, queries: GCQueries, delete_untagged: bool) -> None:
        with ThreadPoolExecutor(self.workers, thread_name_prefix="gc") as self.pool:
            if delete_untagged:
                self._untagged(queries)
            if not self.stopped():
                self._blobs(queries)
            if not self.stopped():
                self._orphans(queries)

    # --- manifests ---------------------------------------------------------------------

    def _untagged(self, queries: GCQueries) -> None:
        guard = self.registry.guard
        refused: set[int] = set()
        touched: set[str] = set()
        while not self.stopped():
            found = [m for m in queries.untagged(self.cutoff) if m[0] not in refused]
            if not found:
                break
            names = {mid: (repo, digest) for mid, repo, digest in found}
            allowed: list[int] = []
            for mid, repo, digest in found:
                try:
                    if guard is not None:
                        guard.check_delete(repo, digest)
                except DockyardError as exc:
                    refused.add(mid)
                    self.report.kept.append((repo, digest, str(exc)))
                    self.say(f"kept manifest {repo}@{digest}: {exc}")
                    continue
                allowed.append(mid)
            for ids in self.pacer.batches(allowed):
                if self.stopped():
                    break
                for mid in self._paced(len(ids), queries.delete_untagged, ids, self.cutoff):
                    repo, digest = names[mid]
                    self.report.manifests.append((repo, digest))
                    touched.add(repo)
                    if not self.report.dry_run:
                        self.events.publish(_deleted(repo, digest))
            self.say(f"untagged manifests: {len(self.report.manifests)} so far")
        if self.report.dry_run or not touched:
            return
        queries.bump_generation()
        for repo in sorted(touched):
            self.registry.cache.invalidate(repo)
            if guard is not None:
                try:
                    guard.deleted(repo)
                except Exception:  # the delete happened; the next delete reconciles again
                    log.exception("gc: cannot reconcile %s after deleting manifests", repo)

    # --- blobs -------------------------------------------------------------------------

    def _remove(self, keys: dict[str, str]) -> list[str]:
        """Remove the files of ``keys`` (name → storage key) with the worker threads; the
        names whose files are gone. A dry run removes nothing and answers every name."""
        if self.report.dry_run:
            return list(keys)
        assert self.pool is not None

        def remove(name: str) -> str | None:
            try:
                self.storage.delete(keys[name])
            except OSError as exc:
                self.report.errors.append((keys[name], str(exc)))
                self.say(f"cannot remove {keys[name]}: {exc}")
                return None
            return name

        return [name for name in self.pool.map(remove, keys) if name is not None]

    def _blobs(self, queries: GCQueries) -> None:
        candidates = queries.unused_blobs(self.cutoff)
        sizes = dict(candidates)
        self.say(f"blobs: {len(candidates)} candidate(s)")
        shown = 0.0
        for chunk in self.pacer.batches([d for d, _ in candidates]):
            if self.stopped():
                return
            if time.monotonic() - shown >= 10:
                if shown:
                    self.say(f"blobs: {len(self.report.blobs)} of {len(candidates)} deleted")
                shown = time.monotonic()

            def remove(still: list[str]) -> list[str]:
                return self._remove({d: blob_key_of(d) for d in still})

            for digest in self._paced(len(chunk), queries.delete_blobs, chunk, self.cutoff, remove):
                self.report.blobs.append(digest)
                self.report.bytes_freed += sizes[digest]
        self.say(f"blobs: {len(self.report.blobs)} deleted")

    def _orphans(self, queries: GCQueries) -> None:
        """Files under ``blobs/`` no record knows of (a crash between writing a file and
        recording it), older than the window."""
        known = queries.known_blobs()
        if self.report.dry_run:
            known.update(self.report.blobs)  # their files stay: not orphans
        keys: dict[str, str] = {}
        for key in self.storage.list("blobs"):
            parsed = parse_blob_key(key)
            name = key if parsed is None else str(parsed)
            if parsed is not None and name in known:
                continue
            keys[name] = key
        old: dict[str, tuple[str, int]] = {}
        for name, key in keys.items():
            info = self.storage.stat(key)
            if info is not None and info.mtime < self.cutoff:
                old[name] = (key, info.size)
        names = list(old)
        for chunk in self.pacer.batches(names):
            if self.stopped():
                return

            def remove(unknown: list[str]) -> list[str]:
                return self._remove({n: old[n][0] for n in unknown})

            for name in self._paced(len(chunk), queries.delete_orphans, chunk, remove):
                key, size = old[name]
                self.report.orphans.append(key)
                self.report.bytes_freed += size


def _deleted(repository: str, digest: str) -> Event:
    project = repository.split("/", 1)[0] if "/" in repository else ""
    return Event(DELETE_ARTIFACT, project, repository, operator="gc", digest=digest)


def blob_key_of(digest: str) -> str:
    return blob_key(Digest.parse(digest))


class _Pacer:
    """Sizes the collector's write transactions by the time they hold the write lock, and
    pauses after each one so that writers waiting for the lock (pushes) get it."""

    def __init__(self, db: Database, stop: threading.Event) -> None:
        self.db = db
        self.stop = stop
        self.size = FIRST_BATCH
        self.contended_until = 0.0

    def batches(self, items: Sequence[T]) -> Iterator[list[T]]:
        """``items`` in batches of the size :meth:`after` last chose."""
        start = 0
        while start < len(items):
            chunk = list(items[start : start + self.size])
            start += len(chunk)
            yield chunk

    def resize(self, count: int, held: float) -> None:
        """The next batch's size: as many items as fit in :data:`HOLD` at the rate this one
        went, at most twice as many as now."""
        per_item = max(held, 1e-6) / max(count, 1)
        fit = int(HOLD / per_item)
        self.size = max(MIN_BATCH, min(MAX_BATCH, fit, 2 * self.size))

    def after(self, count: int, held: float) -> None:
        """After a transaction of ``count`` items that held the lock ``held`` seconds."""
        self.resize(count, held)
        now = time.monotonic()
        if self.db.writers_waiting():
            self.contended_until = now + CONTENDED_FOR
        ratio = CONTENDED_PAUSE if now < self.contended_until else IDLE_PAUSE
        if self.stop.wait(held * ratio):
            return
        deadline = time.monotonic() + MAX_YIELD
        while self.db.writers_waiting() and time.monotonic() < deadline:
            self.contended_until = time.monotonic() + CONTENDED_FOR
            if self.stop.wait(0.001):
                return
