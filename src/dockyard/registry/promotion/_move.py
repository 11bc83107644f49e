"""Moving a tag as one compare-and-set on the registry's ``tags`` row.

The tag points at ``expected`` (or does not exist, ``expected`` None) and is pointed at
``digest`` in the same statement, inside one write transaction: a reader sees the old digest or
the new one, never anything between; of two promotions that both saw ``expected``, the second
finds the row changed and gets :class:`TagMoved` (409 CONFLICT) instead of silently
overwriting the first (a real compare-and-set on SQLite and PostgreSQL alike: an ``UPDATE …
WHERE manifest_id = expected`` and an ``INSERT`` that the primary key refuses).
"""

from __future__ import annotations

import time

from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.errors import Conflict, ManifestUnknown
from dockyard.registry._registry import Registry
from dockyard.registry.metadata._schema import manifests, repositories, tags

__all__ = ["TagMoved", "move_tag"]


class TagMoved(Conflict):
    """The tag changed between reading it and moving it (another promotion or push won)."""


def _changed(registry: Registry, repository: str) -> None:
    registry.cache.invalidate(repository)
    if registry.shared is not None:
        registry.shared.bump(repository)


def _moved(repository: str, tag: str, expected: str | None) -> TagMoved:
    was = f"at {expected}" if expected else "absent"
    return TagMoved(
        f"tag {repository}:{tag} changed while this promotion checked its gates (it was {was}); "
        "another promotion or push moved it first",
        hint="look at where the tag points now, and promote again if it should still move",
    )


def move_tag(
    registry: Registry, repository: str, tag: str, digest: str, expected: str | None
) -> None:
    """Point ``repository:tag`` at manifest ``digest`` if it still points at ``expected``
    (None: if it does not exist); else :class:`TagMoved`. ManifestUnknown when ``digest`` is
    not in the repository (deleted meanwhile)."""
    registry.cache.invalidate(repository)
    try:
        with registry.meta.db.write() as conn:
            repo = conn.execute(
                select(repositories.c.id).where(repositories.c.name == repository)
            ).scalar()
            new = None
            if repo is not None:
                new = conn.execute(
                    select(manifests.c.id).where(
                        manifests.c.repo_id == repo, manifests.c.digest == digest
                    )
                ).scalar()
            if repo is None or new is None:
                raise ManifestUnknown(f"manifest {digest} is unknown to {repository}")
            now = time.time()
            if expected is None:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            tags.insert().values(
                                repo_id=repo, name=tag, manifest_id=new, updated_at=now
                            )
                        )
                except IntegrityError:
                    raise _moved(repository, tag, expected) from None
                return
            old = (
                select(manifests.c.id)
                .where(and_(manifests.c.repo_id == repo, manifests.c.digest == expected))
                .scalar_subquery()
            )
            result = conn.execute(
                update(tags)
                .where(tags.c.repo_id == repo, tags.c.name == tag, tags.c.manifest_id == old)
                .values(manifest_id=new, updated_at=now)
            )
            if result.rowcount != 1:
                raise _moved(repository, tag, expected)
    finally:
        _changed(registry, repository)
