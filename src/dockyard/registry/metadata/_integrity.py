"""The SQL side of ``fsck``: what the database says should be in storage."""

from __future__ import annotations

from sqlalchemy import select

from dockyard.registry.metadata._engine import Database
from dockyard.registry.metadata._schema import (
    blobs,
    manifest_refs,
    manifests,
    repo_blobs,
    repositories,
)

__all__ = ["IntegrityQueries"]


class IntegrityQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    def recorded_blobs(self) -> dict[str, int]:
        """Every blob the database says is stored: digest → size."""
        with self.db.read() as conn:
            return {r[0]: int(r[1]) for r in conn.execute(select(blobs.c.digest, blobs.c.size))}

    def links(self) -> list[tuple[str, str]]:
        """(repository, digest) for every blob link, sorted."""
        q = (
            select(repositories.c.name, repo_blobs.c.digest)
            .select_from(repo_blobs.join(repositories))
            .order_by(repositories.c.name, repo_blobs.c.digest)
        )
        with self.db.read() as conn:
            return [(r[0], r[1]) for r in conn.execute(q)]

    def manifest_blobs(self) -> list[tuple[str, str, str]]:
        """(repository, manifest digest, blob digest) for every blob a manifest refers to."""
        q = (
            select(repositories.c.name, manifests.c.digest, manifest_refs.c.digest)
            .select_from(
                manifest_refs.join(manifests, manifests.c.id == manifest_refs.c.manifest_id).join(
                    repositories
                )
            )
            .where(manifest_refs.c.kind == "blob")
            .order_by(repositories.c.name, manifests.c.digest, manifest_refs.c.digest)
        )
        with self.db.read() as conn:
            return [(r[0], r[1], r[2]) for r in conn.execute(q)]
