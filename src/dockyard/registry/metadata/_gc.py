"""The SQL side of online garbage collection: candidates, re-checked deletes, generations.

Deletes work in batches: one write transaction re-checks a batch of candidates and deletes
the records (and, through a callback, the bytes) of those still unused, so a collection of
100,000 blobs is a few hundred transactions, not 100,000.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import ColumnElement, Connection, and_, delete, exists, select

from dockyard.registry.metadata._engine import Database
from dockyard.registry.metadata._schema import (
    blobs,
    manifest_refs,
    manifests,
    registry_state,
    repo_blobs,
    repositories,
    tags,
)
from dockyard.registry.metadata._sql import insert_ignore

__all__ = ["BATCH", "GCQueries", "UntaggedManifest"]

#: Candidates re-checked and deleted per write transaction (well under SQLite's 999
#: bound parameters).
BATCH = 500

#: (manifest row id, repository, digest)
UntaggedManifest = tuple[int, str, str]


class _Rollback(Exception):
    """Raised to undo a dry run's transaction."""


def _unused_blob(cutoff: float) -> ColumnElement[bool]:
    """Blobs no manifest refers to, older than ``cutoff``, with no link newer than it."""
    return and_(
        blobs.c.created_at < cutoff,
        ~exists().where(manifest_refs.c.kind == "blob", manifest_refs.c.digest == blobs.c.digest),
        ~exists().where(repo_blobs.c.digest == blobs.c.digest, repo_blobs.c.created_at >= cutoff),
    )


def _untagged(cutoff: float) -> ColumnElement[bool]:
    """Manifests with no tag, no parent index in their repository and no subject still
    there, pushed before ``cutoff``."""
    parent = manifests.alias("parent")
    subject = manifests.alias("subject")
    return and_(
        manifests.c.created_at < cutoff,
        ~exists().where(tags.c.manifest_id == manifests.c.id),
        ~exists()
        .select_from(manifest_refs.join(parent, parent.c.id == manifest_refs.c.manifest_id))
        .where(
            manifest_refs.c.kind == "manifest",
            manifest_refs.c.digest == manifests.c.digest,
            parent.c.repo_id == manifests.c.repo_id,
        ),
        ~exists().where(
            subject.c.repo_id == manifests.c.repo_id,
            subject.c.digest == manifests.c.subject,
        ),
    )


def _calling(remove: Callable[[], None]) -> Callable[[list[str]], list[str]]:
    def remove_all(found: list[str]) -> list[str]:
        remove()
        return found

    return remove_all


def batches(items: Sequence[str], size: int = BATCH) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class GCQueries:
    """Queries of one collection. ``conn``: run everything in that connection (a dry run's
    transaction, see :meth:`rehearsal`) instead of transactions of their own."""

    def __init__(self, db: Database, conn: Connection | None = None) -> None:
        self.db = db
        self._conn = conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        if self._conn is not None:
            yield self._conn
        else:
            with self.db.read() as conn:
                yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        if self._conn is not None:
            yield self._conn
        else:
            with self.db.write() as conn:
                yield conn

    @contextmanager
    def rehearsal(self) -> Iterator[GCQueries]:
        """Queries inside one write transaction that is rolled back at the end: a dry run
        deletes records as the real run would (so it sees what a delete uncovers, such as an
        untagged index's children) and nothing stays deleted."""
        try:
            with self.db.write() as conn:
                yield GCQueries(self.db, conn)
                raise _Rollback
        except _Rollback:
            pass

    def unused_blobs(self, cutoff: float) -> list[tuple[str, int]]:
        q = select(blobs.c.digest, blobs.c.size).where(_unused_blob(cutoff))
        q = q.order_by(blobs.c.digest)
        with self._read() as conn:
            return [(r[0], int(r[1])) for r in conn.execute(q)]

    def known_blobs(self) -> set[str]:
        with self._read() as conn:
            return {r[0] for r in conn.execute(select(blobs.c.digest))}

    def delete_blob(self, digest: str, cutoff: float, remove: Callable[[], None]) -> bool:
        """One blob: see :meth:`delete_blobs`."""
        return bool(self.delete_blobs([digest], cutoff, _calling(remove)))

    def delete_blobs(
        self,
        digests: Sequence[str],
        cutoff: float,
        remove: Callable[[list[str]], list[str]],
    ) -> list[str]:
        """In one write transaction: re-check which of ``digests`` are still unused (a push
        racing us wins), let ``remove`` delete their bytes (it answers the digests whose
        bytes are gone), and delete those blobs' records. The deleted digests."""
        with self._write() as conn:
            still = [
                r[0]
                for r in conn.execute(
                    select(blobs.c.digest).where(
                        blobs.c.digest.in_(list(digests)), _unused_blob(cutoff)
                    )
                )
            ]
            if not still:
                return []
            gone = remove(still)
            if gone:
                conn.execute(delete(repo_blobs).where(repo_blobs.c.digest.in_(gone)))
                conn.execute(delete(blobs).where(blobs.c.digest.in_(gone)))
            return gone

    def delete_orphan(self, digest: str, remove: Callable[[], None]) -> bool:
        """Remove bytes no record knows of, unless a record appeared meanwhile."""
        return bool(self.delete_orphans([digest], _calling(remove)))

    def delete_orphans(
        self, digests: Sequence[str], remove: Callable[[list[str]], list[str]]
    ) -> list[str]:
        """Remove the bytes of ``digests`` no record knows of, unless a record appeared
        meanwhile (checked in the write transaction ``remove`` runs in)."""
        with self._write() as conn:
            known = {
                r[0]
                for r in conn.execute(select(blobs.c.digest).where(blobs.c.digest.in_(digests)))
            }
            unknown = [d for d in digests if d not in known]
            return remove(unknown) if unknown else []

    def untagged_manifests(self, cutoff: float) -> list[tuple[str, str]]:
        """(repository, digest) of manifests with no tag, no parent index in their repository
        and no subject still there, pushed before ``cutoff``."""
        return [(repo, digest) for _, repo, digest in self.untagged(cutoff)]

    def untagged(self, cutoff: float) -> list[UntaggedManifest]:
        q = (
            select(manifests.c.id, repositories.c.name, manifests.c.digest)
            .select_from(manifests.join(repositories))
            .where(_untagged(cutoff))
            .order_by(repositories.c.name, manifests.c.digest)
        )
        with self._read() as conn:
            return [(int(r[0]), r[1], r[2]) for r in conn.execute(q)]

    def delete_untagged(self, ids: Sequence[int], cutoff: float) -> list[int]:
        """Delete the manifests of ``ids`` that are still untagged (re-checked in the same
        write transaction: a tag pushed meanwhile keeps its manifest); the ids deleted."""
        with self._write() as conn:
            still = [
                int(r[0])
                for r in conn.execute(
                    select(manifests.c.id).where(manifests.c.id.in_(list(ids)), _untagged(cutoff))
                )
            ]
            if still:
                conn.execute(delete(manifest_refs).where(manifest_refs.c.manifest_id.in_(still)))
                conn.execute(delete(manifests).where(manifests.c.id.in_(still)))
            return still

    def bump_generation(self) -> None:
        with self._write() as c:
            insert_ignore(c, registry_state, {"key": "generation", "value": 0})
            c.execute(
                registry_state.update()
                .where(registry_state.c.key == "generation")
                .values(value=registry_state.c.value + 1)
            )

    def generation(self) -> int:
        with self._read() as conn:
            row = conn.execute(
                select(registry_state.c.value).where(registry_state.c.key == "generation")
            ).first()
        return 0 if row is None else int(row[0])
