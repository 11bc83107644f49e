"""The SQL side of online garbage collection: candidates, re-checked deletes, generations."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ColumnElement, and_, delete, exists, select

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

__all__ = ["GCQueries"]


def _unused_blob(cutoff: float) -> ColumnElement[bool]:
    """Blobs no manifest refers to, older than ``cutoff``, with no link newer than it."""
    return and_(
        blobs.c.created_at < cutoff,
        ~exists().where(manifest_refs.c.kind == "blob", manifest_refs.c.digest == blobs.c.digest),
        ~exists().where(repo_blobs.c.digest == blobs.c.digest, repo_blobs.c.created_at >= cutoff),
    )


class GCQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    def unused_blobs(self, cutoff: float) -> list[tuple[str, int]]:
        q = select(blobs.c.digest, blobs.c.size).where(_unused_blob(cutoff))
        with self.db.read() as conn:
            return [(r[0], int(r[1])) for r in conn.execute(q)]

    def known_blobs(self) -> set[str]:
        with self.db.read() as conn:
            return {r[0] for r in conn.execute(select(blobs.c.digest))}

    def delete_blob(self, digest: str, cutoff: float, remove: Callable[[], None]) -> bool:
        """Delete a blob's records and (through ``remove``) its bytes, in one write transaction
        that first re-checks the blob is still unused — a push racing us wins."""
        with self.db.write() as conn:
            still = conn.execute(
                select(blobs.c.digest).where(blobs.c.digest == digest, _unused_blob(cutoff))
            ).first()
            if still is None:
                return False
            conn.execute(delete(repo_blobs).where(repo_blobs.c.digest == digest))
            conn.execute(delete(blobs).where(blobs.c.digest == digest))
            remove()
            return True

    def delete_orphan(self, digest: str, remove: Callable[[], None]) -> bool:
        """Remove bytes no record knows of, unless a record appeared meanwhile."""
        with self.db.write() as conn:
            if conn.execute(select(blobs.c.digest).where(blobs.c.digest == digest)).first():
                return False
            remove()
            return True

    def untagged_manifests(self, cutoff: float) -> list[tuple[str, str]]:
        """(repository, digest) of manifests with no tag, no parent index in their repository
        and no subject still there, pushed before ``cutoff``."""
        parent = manifests.alias("parent")
        subject = manifests.alias("subject")
        q = (
            select(repositories.c.name, manifests.c.digest)
            .select_from(manifests.join(repositories))
            .where(
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
            .order_by(repositories.c.name, manifests.c.digest)
        )
        with self.db.read() as conn:
            return [(r[0], r[1]) for r in conn.execute(q)]

    def bump_generation(self) -> None:
        with self.db.write() as c:
            insert_ignore(c, registry_state, {"key": "generation", "value": 0})
            c.execute(
                registry_state.update()
                .where(registry_state.c.key == "generation")
                .values(value=registry_state.c.value + 1)
            )

    def generation(self) -> int:
        with self.db.read() as conn:
            row = conn.execute(
                select(registry_state.c.value).where(registry_state.c.key == "generation")
            ).first()
        return 0 if row is None else int(row[0])
