"""What a management API lists: repositories with counts and times, artifacts, their tags.

Filtering, sorting, counting and paging all happen in SQL, so a listing costs one page of rows
however many repositories or artifacts there are. An *artifact* is a manifest a user pushed:
the children of an index in the same repository and the referrers of a manifest there (cosign
signatures, SBOM attachments) belong to their parent and are not listed on their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, delete, exists, func, or_, select

from dockyard.registry.metadata._engine import Database
from dockyard.registry.metadata._schema import (
    manifest_refs,
    manifests,
    repo_blobs,
    repositories,
    tags,
)

__all__ = [
    "ArtifactQuery",
    "ArtifactRow",
    "Inventory",
    "RepositoryQuery",
    "RepositoryRow",
    "TagQuery",
    "TagRow",
]

#: (key, descending) pairs, in order of precedence.
Sorting = tuple[tuple[str, bool], ...]


@dataclass(frozen=True, slots=True)
class RepositoryRow:
    id: int
    name: str
    artifact_count: int
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class ArtifactRow:
    id: int
    repository_id: int
    repository: str
    digest: str
    media_type: str
    content: bytes
    artifact_type: str | None
    annotations: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class TagRow:
    repository_id: int
    artifact_id: int
    name: str
    updated_at: float


@dataclass(frozen=True, slots=True)
class RepositoryQuery:
    """Repositories with at least one manifest. ``names``: any of these; ``name_contains``: a
    substring; ``prefixes``: names starting with any of these (None: no restriction, empty:
    nothing). Sort keys: ``name``, ``creation_time``, ``update_time``, ``artifact_count``."""

    names: tuple[str, ...] | None = None
    name_contains: str | None = None
    prefixes: tuple[str, ...] | None = None
    sort: Sorting = ()
    offset: int = 0
    limit: int = 10


@dataclass(frozen=True, slots=True)
class ArtifactQuery:
    """The artifacts of one repository. ``tagged``: True only tagged, False only untagged;
    ``tags_any``: with any of these tags; ``tags_all``: with every one of them;
    ``tag_contains``: with a tag containing this; ``digests``/``digest_contains`` likewise;
    ``pushed`` a (min, max) range of push times. Sort keys: ``push_time``, ``digest``."""

    tagged: bool | None = None
    tags_any: tuple[str, ...] | None = None
    tags_all: tuple[str, ...] = ()
    tag_contains: str | None = None
    digests: tuple[str, ...] | None = None
    digest_contains: str | None = None
    pushed: tuple[float | None, float | None] = (None, None)
    sort: Sorting = ()
    offset: int = 0
    limit: int = 10


@dataclass(frozen=True, slots=True)
class TagQuery:
    """Tags of one artifact. Sort keys: ``name``, ``push_time``."""

    names: tuple[str, ...] | None = None
    name_contains: str | None = None
    sort: Sorting = ()
    offset: int = 0
    limit: int = 10


def _top_level(m: Any) -> ColumnElement[bool]:
    """``m`` (an alias of manifests) is neither a child of an index nor a referrer of a
    manifest in its repository."""
    parent = manifests.alias()
    subject = manifests.alias()
    return and_(
        ~exists()
        .select_from(manifest_refs.join(parent, parent.c.id == manifest_refs.c.manifest_id))
        .where(
            manifest_refs.c.kind == "manifest",
            manifest_refs.c.digest == m.c.digest,
            parent.c.repo_id == m.c.repo_id,
        ),
        or_(
            m.c.subject.is_(None),
            ~exists().where(subject.c.repo_id == m.c.repo_id, subject.c.digest == m.c.subject),
        ),
    )


def _order(columns: dict[str, Any], sort: Sorting, default: Sorting) -> list[Any]:
    order = []
    for key, desc in sort or default:
        column = columns[key]
        order.append(column.desc() if desc else column.asc())
    return order


class Inventory:
    """The read side of a management API over the registry's tables, and its deletes."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _page(
        self,
        q: Select[Any],
        columns: dict[str, Any],
        sort: Sorting,
        default: Sorting,
        offset: int,
        limit: int,
    ) -> tuple[int, list[Any]]:
        """How many rows ``q`` matches, and the rows of one page of them, in one read."""
        with self.db.read() as conn:
            total = int(conn.execute(select(func.count()).select_from(q.subquery())).scalar_one())
            if offset >= total:
                return total, []
            page = q.order_by(*_order(columns, sort, default)).offset(offset)
            return total, list(conn.execute(page.limit(limit)).all())

    # --- repositories ------------------------------------------------------------------------

    def _repository_select(self) -> tuple[Select[Any], dict[str, Any]]:
        m = manifests.alias("m")
        count = (
            select(func.count(m.c.id))
            .where(m.c.repo_id == repositories.c.id, _top_level(m))
            .scalar_subquery()
        )
        last_push = (
            select(func.max(manifests.c.created_at))
            .where(manifests.c.repo_id == repositories.c.id)
            .scalar_subquery()
        )
        last_tag = (
            select(func.max(tags.c.updated_at))
            .where(tags.c.repo_id == repositories.c.id)
            .scalar_subquery()
        )
        pushed = func.coalesce(last_push, repositories.c.created_at)
        tagged = func.coalesce(last_tag, repositories.c.created_at)
        updated = case((tagged > pushed, tagged), else_=pushed)
        q = select(
            repositories.c.id,
            repositories.c.name,
            count.label("artifact_count"),
            repositories.c.created_at,
            updated.label("updated_at"),
        ).where(exists().where(manifests.c.repo_id == repositories.c.id))
        columns = {
            "name": repositories.c.name,
            "creation_time": repositories.c.created_at,
            "update_time": updated,
            "artifact_count": count,
            "id": repositories.c.id,
        }
        return q, columns

    def repositories(self, query: RepositoryQuery) -> tuple[int, list[RepositoryRow]]:
        """(how many match, the page ``offset``/``limit`` of them). Sorted by name or
        creation time, the page's ids are chosen first and the counts and update times
        computed for that page only, so a page costs the same in a project of any size."""
        q, columns = self._repository_select()
        name = repositories.c.name
        conds: list[ColumnElement[bool]] = []
        if query.names is not None:
            conds.append(name.in_(query.names))
        if query.name_contains is not None:
            conds.append(name.icontains(query.name_contains, autoescape=True))
        if query.prefixes is not None:
            if not query.prefixes:
                return 0, []
            conds.append(or_(*(name.startswith(p, autoescape=True) for p in query.prefixes)))
        default = (("creation_time", True), ("id", True))
        sort = query.sort or default
        if any(key in ("update_time", "artifact_count") for key, _ in sort):
            total, rows = self._page(q.where(*conds), columns, sort, default, query.offset,
                                     query.limit)  # fmt: skip
        else:
            ids = select(repositories.c.id).where(
                exists().where(manifests.c.repo_id == repositories.c.id), *conds
            )
            order = _order(columns, sort, default)
            with self.db.read() as conn:
                total = int(conn.execute(select(func.count()).select_from(ids.subquery()))
                            .scalar_one())  # fmt: skip
                if query.offset >= total:
                    return total, []
                chosen = [r[0] for r in conn.execute(
                    ids.order_by(*order).offset(query.offset).limit(query.limit))]  # fmt: skip
                rows = list(conn.execute(q.where(repositories.c.id.in_(chosen)).order_by(*order)))
        return total, [RepositoryRow(r[0], r[1], int(r[2]), r[3], r[4]) for r in rows]

    def project_names(self) -> list[str]:
        """The distinct first components of the names of repositories with a manifest and a
        ``/`` in their name, sorted."""
        q = (
            select(repositories.c.name)
            .where(
                repositories.c.name.contains("/"),
                exists().where(manifests.c.repo_id == repositories.c.id),
            )
            .order_by(repositories.c.name)
        )
        with self.db.read() as conn:
            names = [r[0] for r in conn.execute(q)]
        return sorted({n.split("/", 1)[0] for n in names})

    def repository(self, name: str) -> RepositoryRow | None:
        """One repository with at least one manifest, or None."""
        q, _ = self._repository_select()
        with self.db.read() as conn:
            r = conn.execute(q.where(repositories.c.name == name)).first()
        return None if r is None else RepositoryRow(r[0], r[1], int(r[2]), r[3], r[4])

    def delete_repository(self, name: str) -> bool:
        """Remove every manifest, tag and blob link of ``name`` in one transaction (garbage
        collection then reclaims the bytes); False when it has no manifest. The repository's
        row stays for uploads in flight; without manifests it is listed nowhere."""
        with self.db.write() as conn:
            row = conn.execute(select(repositories.c.id).where(repositories.c.name == name)).first()
            if row is None:
                return False
            repo = int(row[0])
            mids = select(manifests.c.id).where(manifests.c.repo_id == repo)
            if conn.execute(mids.limit(1)).first() is None:
                return False
            conn.execute(delete(tags).where(tags.c.repo_id == repo))
            conn.execute(delete(manifest_refs).where(manifest_refs.c.manifest_id.in_(mids)))
            conn.execute(delete(manifests).where(manifests.c.repo_id == repo))
            conn.execute(delete(repo_blobs).where(repo_blobs.c.repo_id == repo))
            return True

    # --- artifacts ---------------------------------------------------------------------------

    @staticmethod
    def _artifact_select() -> Select[Any]:
        return select(
            manifests.c.id,
            manifests.c.repo_id,
            repositories.c.name,
            manifests.c.digest,
            manifests.c.media_type,
            manifests.c.content,
            manifests.c.artifact_type,
            manifests.c.annotations,
            manifests.c.created_at,
        ).select_from(manifests.join(repositories))

    @staticmethod
    def _artifact(r: Any) -> ArtifactRow:
        return ArtifactRow(
            int(r[0]), int(r[1]), r[2], r[3], r[4], bytes(r[5]), r[6], r[7], float(r[8])
        )

    def artifacts(self, repository: str, query: ArtifactQuery) -> tuple[int, list[ArtifactRow]]:
        return self._artifacts(repositories.c.name == repository, query)

    def project_artifacts(
        self, project: str, query: ArtifactQuery
    ) -> tuple[int, list[ArtifactRow]]:
        """The artifacts of every repository of ``project`` (``<project>/…``), as
        :meth:`artifacts` filters, sorts and pages them."""
        inside = repositories.c.name.startswith(project + "/", autoescape=True)
        return self._artifacts(inside, query)

    def _artifacts(
        self, where: ColumnElement[bool], query: ArtifactQuery
    ) -> tuple[int, list[ArtifactRow]]:
        q = self._artifact_select().where(where, _top_level(manifests))

        def has_tag(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
            return exists().where(tags.c.manifest_id == manifests.c.id, *conditions)

        if query.tagged is not None:
            q = q.where(has_tag() if query.tagged else ~has_tag())
        if query.tags_any is not None:
            q = q.where(has_tag(tags.c.name.in_(query.tags_any)))
        for tag in query.tags_all:
            q = q.where(has_tag(tags.c.name == tag))
        if query.tag_contains is not None:
            q = q.where(has_tag(tags.c.name.icontains(query.tag_contains, autoescape=True)))
        if query.digests is not None:
            q = q.where(manifests.c.digest.in_(query.digests))
        if query.digest_contains is not None:
            q = q.where(manifests.c.digest.icontains(query.digest_contains, autoescape=True))
        low, high = query.pushed
        if low is not None:
            q = q.where(manifests.c.created_at >= low)
        if high is not None:
            q = q.where(manifests.c.created_at <= high)
        columns = {
            "push_time": manifests.c.created_at,
            "digest": manifests.c.digest,
            "id": manifests.c.id,
        }
        default = (("push_time", True), ("id", True))
        total, rows = self._page(q, columns, query.sort, default, query.offset, query.limit)
        return total, [self._artifact(r) for r in rows]

    def artifact(self, repository: str, digest: str) -> ArtifactRow | None:
        q = self._artifact_select().where(
            repositories.c.name == repository, manifests.c.digest == digest
        )
        with self.db.read() as conn:
            r = conn.execute(q).first()
        return None if r is None else self._artifact(r)

    def artifact_by_id(self, artifact_id: int) -> ArtifactRow | None:
        q = self._artifact_select().where(manifests.c.id == artifact_id)
        with self.db.read() as conn:
            r = conn.execute(q).first()
        return None if r is None else self._artifact(r)

    def artifact_ids(self, repository: str, digests: Sequence[str]) -> dict[str, int]:
        """The row ids of those of ``digests`` that ``repository`` has."""
        if not digests:
            return {}
        q = (
            select(manifests.c.digest, manifests.c.id)
            .select_from(manifests.join(repositories))
            .where(repositories.c.name == repository, manifests.c.digest.in_(list(digests)))
        )
        with self.db.read() as conn:
            return {r[0]: int(r[1]) for r in conn.execute(q)}

    # --- tags --------------------------------------------------------------------------------

    def tags_of(self, artifact_ids: Sequence[int]) -> dict[int, list[TagRow]]:
        """Every tag of each artifact (by row id), newest first."""
        found: dict[int, list[TagRow]] = {i: [] for i in artifact_ids}
        if not artifact_ids:
            return found
        q = (
            select(tags.c.repo_id, tags.c.manifest_id, tags.c.name, tags.c.updated_at)
            .where(tags.c.manifest_id.in_(list(artifact_ids)))
            .order_by(tags.c.updated_at.desc(), tags.c.name)
        )
        with self.db.read() as conn:
            for r in conn.execute(q):
                found[int(r[1])].append(TagRow(int(r[0]), int(r[1]), r[2], float(r[3])))
        return found

    def tags(self, artifact_id: int, query: TagQuery) -> tuple[int, list[TagRow]]:
        q = select(tags.c.repo_id, tags.c.manifest_id, tags.c.name, tags.c.updated_at).where(
            tags.c.manifest_id == artifact_id
        )
        if query.names is not None:
            q = q.where(tags.c.name.in_(query.names))
        if query.name_contains is not None:
            q = q.where(tags.c.name.icontains(query.name_contains, autoescape=True))
        columns = {"name": tags.c.name, "push_time": tags.c.updated_at}
        default = (("push_time", True), ("name", False))
        total, rows = self._page(q, columns, query.sort, default, query.offset, query.limit)
        return total, [TagRow(int(r[0]), int(r[1]), r[2], float(r[3])) for r in rows]

    def tag(self, repository: str, name: str) -> TagRow | None:
        q = (
            select(tags.c.repo_id, tags.c.manifest_id, tags.c.name, tags.c.updated_at)
            .select_from(tags.join(repositories))
            .where(repositories.c.name == repository, tags.c.name == name)
        )
        with self.db.read() as conn:
            r = conn.execute(q).first()
        return None if r is None else TagRow(int(r[0]), int(r[1]), r[2], float(r[3]))
