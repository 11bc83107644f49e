"""Storage quotas per project: a hard limit in bytes (-1: none) and the bytes in use.

Usage counts each blob once per project, however many of its repositories share it; a push
first asks :meth:`QuotaStore.check_push` with the bytes it would add, then records its blobs
with :meth:`QuotaStore.record_push`. Deleting content (or GC) gives bytes back with
:meth:`QuotaStore.release` for the digests the project no longer holds anywhere.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, case, func, select

from dockyard.errors import Denied, InvalidArgument, NotFound
from dockyard.registry.access._records import Page, Quota, check_paging
from dockyard.registry.access._schema import projects, quota_blobs, quotas
from dockyard.registry.metadata import Database

__all__ = ["QuotaExceeded", "QuotaStore", "format_size"]

_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")
#: Bound on one call's blob list (a manifest references far fewer).
MAX_BLOBS = 10_000


class QuotaExceeded(Denied):
    """A push would take a project past its storage quota."""


def format_size(size: int) -> str:
    """``12.0MB`` (binary units, as Harbor's portal shows them); bytes below 1 KB as ``512B``."""
    if size < 1024:
        return f"{size}B"
    value = float(size)
    unit = 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    return f"{value:.1f}{_UNITS[unit]}"


def _blobs(blobs: Mapping[str, int]) -> dict[str, int]:
    if len(blobs) > MAX_BLOBS:
        raise InvalidArgument(f"more than {MAX_BLOBS} blobs in one quota update")
    for digest, size in blobs.items():
        if size < 0 or len(digest) > 200:
            raise InvalidArgument(f"blob {digest[:80]!r} has a bad size or digest")
    return dict(blobs)


#: Harbor's sort keys of ``GET /quotas`` and their columns (a quota's id is its project's).
_SORT_COLUMNS: dict[str, Any] = {
    "id": quotas.c.project_id,
    "creation_time": quotas.c.created_at,
    "update_time": quotas.c.updated_at,
    "hard.storage": quotas.c.hard,
    "used.storage": quotas.c.used,
}
SORT_KEYS = tuple(_SORT_COLUMNS)


class QuotaStore:
    def __init__(self, db: Database, *, clock: Callable[[], float]) -> None:
        self._db = db
        self._clock = clock

    def _project_id(self, conn: Connection, project: str) -> int:
        row = conn.execute(select(projects.c.id).where(projects.c.name == project)).first()
        if row is None:
            raise NotFound(f"project {project[:80]!r} does not exist")
        return int(row.id)

    def get(self, project: str) -> Quota:
        with self._db.read() as conn:
            found = self._select(conn, projects.c.name == project, None, None)
        if not found:
            raise NotFound(f"project {project[:80]!r} does not exist")
        return found[0]

    def list(
        self, *, page: int = 1, page_size: int = 10, sort: Sequence[tuple[str, bool]] = ()
    ) -> Page[Quota]:
        """One page of quotas; ``sort``: (key, descending) pairs of :data:`SORT_KEYS` (by
        project id otherwise, and after the keys)."""
        offset, limit = check_paging(page, page_size)
        unknown = [key for key, _ in sort if key not in _SORT_COLUMNS]
        if unknown:
            raise InvalidArgument(f"cannot sort quotas by {unknown[0]!r}")
        order = [
            _SORT_COLUMNS[key].desc() if descending else _SORT_COLUMNS[key].asc()
            for key, descending in sort
        ]
        with self._db.read() as conn:
            total = conn.execute(select(func.count()).select_from(quotas)).scalar_one()
            items = self._select(conn, None, offset, limit, order)
        return Page(items, int(total), page, page_size)

    def _select(
        self,
        conn: Connection,
        cond: Any,
        offset: int | None,
        limit: int | None,
        order: Sequence[Any] = (),
    ) -> builtins.list[Quota]:
        query = (
            select(quotas, projects.c.name)
            .select_from(quotas.join(projects, projects.c.id == quotas.c.project_id))
            .order_by(*order, quotas.c.project_id)
        )
        if cond is not None:
            query = query.where(cond)
        if offset is not None:
            query = query.offset(offset).limit(limit)
        return [
            Quota(r.project_id, r.name, r.hard, r.used, r.created_at, r.updated_at)
            for r in conn.execute(query)
        ]

    def set_hard(self, project: str, hard: int) -> Quota:
        """Set the limit in bytes (-1: unlimited). A limit below current use is allowed (as
        in Harbor, it only stops further pushes)."""
        if hard < -1 or hard == 0:
            raise InvalidArgument(
                f"storage quota {hard} is not valid", hint="give bytes (> 0) or -1 for no limit"
            )
        with self._db.write() as conn:
            pid = self._project_id(conn, project)
            conn.execute(
                quotas.update().where(quotas.c.project_id == pid)
                .values(hard=hard, updated_at=self._clock())
            )  # fmt: skip
        return self.get(project)

    def usage(self, project: str) -> int:
        """Bytes the project uses (each blob counted once)."""
        return self.get(project).used

    def new_bytes(self, project: str, blobs: Mapping[str, int]) -> int:
        """How many bytes of ``blobs`` (digest → size) the project does not hold yet."""
        wanted = _blobs(blobs)
        with self._db.read() as conn:
            pid = self._project_id(conn, project)
            known = self._known(conn, pid, wanted)
        return sum(size for digest, size in wanted.items() if digest not in known)

    def held(self, project: str) -> set[str]:
        """The digests counted in the project's usage."""
        with self._db.read() as conn:
            pid = self._project_id(conn, project)
            rows = conn.execute(select(quota_blobs.c.digest).where(quota_blobs.c.project_id == pid))
            return {r.digest for r in rows}

    def check_push(self, project: str, new_bytes: int) -> None:
        """QuotaExceeded (Denied) when adding ``new_bytes`` would pass the project's quota."""
        quota = self.get(project)
        if quota.hard != -1 and new_bytes > 0 and quota.used + new_bytes > quota.hard:
            raise QuotaExceeded(
                f"adding {format_size(new_bytes)} would exceed project {project}'s quota of "
                f"{format_size(quota.hard)} (used {format_size(quota.used)})",
                hint="delete images from the project, or ask an administrator to raise its quota",
            )

    def record_push(self, project: str, blobs: Mapping[str, int]) -> int:
        """Count ``blobs`` (digest → size) in the project's usage, each once; returns the bytes
        added (0 for blobs it already held)."""
        wanted = _blobs(blobs)
        with self._db.write() as conn:
            pid = self._project_id(conn, project)
            known = self._known(conn, pid, wanted)
            fresh = {d: s for d, s in wanted.items() if d not in known}
            added = sum(fresh.values())
            if fresh:
                conn.execute(
                    quota_blobs.insert(),
                    [{"project_id": pid, "digest": d, "size": s} for d, s in fresh.items()],
                )
                conn.execute(
                    quotas.update().where(quotas.c.project_id == pid)
                    .values(used=quotas.c.used + added, updated_at=self._clock())
                )  # fmt: skip
        return added

    def release(self, project: str, digests: Iterable[str]) -> int:
        """Stop counting ``digests`` (the project no longer holds them anywhere); returns the
        bytes given back."""
        wanted = list(dict.fromkeys(digests))
        if len(wanted) > MAX_BLOBS:
            raise InvalidArgument(f"more than {MAX_BLOBS} blobs in one quota update")
        with self._db.write() as conn:
            pid = self._project_id(conn, project)
            where = (quota_blobs.c.project_id == pid, quota_blobs.c.digest.in_(wanted))
            freed = int(
                conn.execute(select(func.coalesce(func.sum(quota_blobs.c.size), 0)).where(*where))
                .scalar_one()
            )  # fmt: skip
            if freed or wanted:
                conn.execute(quota_blobs.delete().where(*where))
                conn.execute(
                    quotas.update().where(quotas.c.project_id == pid)
                    .values(
                        used=case((quotas.c.used > freed, quotas.c.used - freed), else_=0),
                        updated_at=self._clock(),
                    )
                )  # fmt: skip
        return freed

    @staticmethod
    def _known(conn: Connection, project_id: int, blobs: Mapping[str, int]) -> set[str]:
        if not blobs:
            return set()
        rows = conn.execute(
            select(quota_blobs.c.digest).where(
                quota_blobs.c.project_id == project_id, quota_blobs.c.digest.in_(list(blobs))
            )
        )
        return {r.digest for r in rows}
