"""The facts retention decides on, read from the registry's metadata: every artifact of a
project's repositories (index children go with their index and are no candidates), its
tags, when it and its tags were pushed, when it was last pulled, what it refers to."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import and_, exists, select

from dockyard.registry.metadata import Database
from dockyard.registry.metadata._schema import manifest_refs, manifests, repositories, tags
from dockyard.registry.retention._evaluate import Candidate
from dockyard.registry.retention._schema import pulls

__all__ = ["project_artifacts", "project_repositories"]


def project_repositories(db: Database, project: str) -> list[str]:
    """The repositories of ``project``, by their names inside it, sorted."""
    prefix = project + "/"
    with db.read() as conn:
        rows = conn.execute(
            select(repositories.c.name).where(
                repositories.c.name.startswith(prefix, autoescape=True)
            )
        )
        return sorted(r[0][len(prefix) :] for r in rows)


def project_artifacts(db: Database, project: str, repository: str) -> list[Candidate]:
    """The candidates of ``project/repository`` (its name inside the project), oldest push
    first."""
    full = f"{project}/{repository}"
    parent = manifests.alias()
    child = and_(
        manifest_refs.c.kind == "manifest",
        manifest_refs.c.digest == manifests.c.digest,
        parent.c.repo_id == manifests.c.repo_id,
    )
    with db.read() as conn:
        repo_id = conn.execute(
            select(repositories.c.id).where(repositories.c.name == full)
        ).scalar()
        if repo_id is None:
            return []
        rows = conn.execute(
            select(
                manifests.c.id,
                manifests.c.digest,
                manifests.c.created_at,
                manifests.c.subject,
                manifests.c.size,
            ).where(
                manifests.c.repo_id == repo_id,
                ~exists()
                .select_from(manifest_refs.join(parent, parent.c.id == manifest_refs.c.manifest_id))
                .where(child),
            )
        ).all()
        tag_rows = conn.execute(
            select(tags.c.manifest_id, tags.c.name, tags.c.updated_at).where(
                tags.c.repo_id == repo_id
            )
        ).all()
        pulled = dict(
            conn.execute(select(pulls.c.digest, pulls.c.pulled_at).where(
                pulls.c.repository == full
            )).all()
        )  # fmt: skip
    names: dict[int, list[str]] = defaultdict(list)
    tagged: dict[int, float] = {}
    for manifest_id, name, updated in tag_rows:
        names[manifest_id].append(name)
        tagged[manifest_id] = max(tagged.get(manifest_id, 0.0), float(updated))
    out = [
        Candidate(
            repository=repository,
            digest=digest,
            tags=tuple(sorted(names.get(mid, []))),
            pushed=max(float(created), tagged.get(mid, 0.0)),
            pulled=float(pulled.get(digest, 0.0)),
            subject=subject,
            size=int(size),
        )
        for mid, digest, created, subject, size in rows
    ]
    return sorted(out, key=lambda c: (c.pushed, c.digest))
