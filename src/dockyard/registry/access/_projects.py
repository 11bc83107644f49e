"""Projects: Harbor's namespaces of repositories, with their metadata and storage quota.

A project owns every repository whose first path component is its name. Creating one makes
its creator a projectAdmin and its quota row (-1: unlimited); deleting one that still has
repositories is refused (412, as Harbor) unless forced.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, and_, column, false, func, or_, select, table
from sqlalchemy.exc import IntegrityError

from dockyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from dockyard.registry.access._names import check_project_name
from dockyard.registry.access._records import Page, Project, check_paging
from dockyard.registry.access._roles import Role
from dockyard.registry.access._schema import (
    delete_project_rows,
    members,
    new_id,
    project_metadata,
    projects,
    quotas,
    users,
)
from dockyard.registry.metadata import Database

__all__ = ["BOOLEAN_METADATA", "METADATA_KEYS", "SEVERITIES", "ProjectStore", "check_metadata"]

#: Harbor's ProjectMetadata keys whose values are "true" or "false".
BOOLEAN_METADATA = frozenset(
    {
        "public", "enable_content_trust", "enable_content_trust_cosign", "prevent_vul",
        "auto_scan", "auto_sbom_generation", "reuse_sys_cve_allowlist",
        "proxy_cache_local_on_not_found", "proxy_referrer_api",
    }
)  # fmt: skip
#: Every key of Harbor's ProjectMetadata.
METADATA_KEYS = BOOLEAN_METADATA | {
    "severity", "retention_id", "proxy_speed_kb", "max_upstream_conn",
    "proxy_cache_filter_pattern", "proxy_cache_filter_kind",
}  # fmt: skip
#: ``severity``: pulls of images with findings at or above it are blocked (with prevent_vul).
SEVERITIES = ("none", "low", "medium", "high", "critical")
_MAX_VALUE = 255

#: The registry's own table of repositories (same database), read for counts only.
_repositories = table("repositories", column("name"))


def check_metadata(values: Mapping[str, object]) -> dict[str, str]:
    """Harbor's metadata strings from ``values`` (bools become "true"/"false");
    InvalidArgument for an unknown key or a value the key does not take."""
    out: dict[str, str] = {}
    for key, raw in values.items():
        if key not in METADATA_KEYS:
            raise InvalidArgument(
                f"unknown project metadata {key[:64]!r}",
                hint=f"use one of {', '.join(sorted(METADATA_KEYS))}",
            )
        value = ("true" if raw else "false") if isinstance(raw, bool) else str(raw)
        if key in BOOLEAN_METADATA:
            value = value.strip().lower()
            if value not in ("true", "false"):
                raise InvalidArgument(
                    f'project metadata {key} must be "true" or "false", not {value[:32]!r}'
                )
        elif key == "severity":
            value = value.strip().lower()
            if value not in SEVERITIES:
                raise InvalidArgument(
                    f"severity {value[:32]!r} is not one of {', '.join(SEVERITIES)}"
                )
        if len(value) > _MAX_VALUE:
            raise InvalidArgument(f"project metadata {key} is longer than {_MAX_VALUE} characters")
        out[key] = value
    return out


def repo_count(conn: Connection, project: str) -> int:
    """Repositories of the registry inside ``project``."""
    query = (
        select(func.count())
        .select_from(_repositories)
        .where(_repositories.c.name.startswith(project + "/", autoescape=True))
    )
    return int(conn.execute(query).scalar_one())


class ProjectStore:
    def __init__(self, db: Database, *, clock: Callable[[], float]) -> None:
        self._db = db
        self._clock = clock
        #: called with a project's name after its metadata changed (created, updated, deleted)
        #: and committed: what caches the policies read from it (:mod:`dockyard.registry.policy`)
        self.changed: builtins.list[Callable[[str], None]] = []

    def _changed(self, name: str) -> None:
        for tell in self.changed:
            tell(name)

    def settings_of(self, name: str) -> dict[str, str] | None:
        """The metadata of project ``name`` in one query (what a pull policy reads); None when
        there is no such project."""
        query = (
            select(projects.c.id, project_metadata.c.name, project_metadata.c.value)
            .select_from(
                projects.outerjoin(project_metadata, project_metadata.c.project_id == projects.c.id)
            )
            .where(projects.c.name == name)
        )
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return None
        return {str(r[1]): str(r[2]) for r in rows if r[1] is not None}

    def create(
        self,
        name: str,
        *,
        owner_id: int | None,
        public: bool = False,
        metadata: Mapping[str, object] | None = None,
        storage_limit: int = -1,
        registry_id: int | None = None,
    ) -> Project:
        """A new project; its owner (if any) becomes its projectAdmin. ``metadata.public``, when
        given, wins over ``public`` (Harbor reads both)."""
        check_project_name(name)
        if storage_limit < -1 or storage_limit == 0:
            raise InvalidArgument(
                f"storage_limit {storage_limit} is not valid",
                hint="give a size in bytes, or -1 for no limit",
            )
        meta = {"public": "true" if public else "false"}
        meta.update(check_metadata(metadata or {}))
        now = self._clock()
        try:
            with self._db.write() as conn:
                project_id = int(
                    new_id(conn.execute(
                        projects.insert().values(
                            name=name, owner_id=owner_id, registry_id=registry_id,
                            created_at=now, updated_at=now,
                        )
                    ))
                )  # fmt: skip
                conn.execute(
                    project_metadata.insert(),
                    [{"project_id": project_id, "name": k, "value": v} for k, v in meta.items()],
                )
                conn.execute(
                    quotas.insert().values(
                        project_id=project_id, hard=storage_limit, used=0, created_at=now,
                        updated_at=now,
                    )
                )  # fmt: skip
                if owner_id is not None:
                    conn.execute(
                        members.insert().values(
                            project_id=project_id, entity_type="u", entity_id=owner_id,
                            role_id=int(Role.PROJECT_ADMIN), created_at=now, updated_at=now,
                        )
                    )  # fmt: skip
        except IntegrityError:
            raise AlreadyExists(
                f"project {name!r} already exists", hint="choose another name"
            ) from None
        self._changed(name)
        return self.get(project_id)

    def get(self, name_or_id: str | int) -> Project:
        found = self.find(name_or_id)
        if found is None:
            raise NotFound(
                f"project {str(name_or_id)[:80]!r} does not exist",
                hint="list projects to see their names",
            )
        return found

    def find(self, name_or_id: str | int) -> Project | None:
        cond = projects.c.id == name_or_id if isinstance(name_or_id, int) else (
            projects.c.name == name_or_id
        )  # fmt: skip
        with self._db.read() as conn:
            rows = self._select(conn, cond, None, None)
        return rows[0] if rows else None

    def owner_names(self, ids: Collection[int]) -> dict[int, str]:
        """Project id → its owner's user name ("" when the owner is gone), in one query (no
        repository counts: what a listing of quotas needs)."""
        if not ids:
            return {}
        query = (
            select(projects.c.id, users.c.username)
            .select_from(projects.outerjoin(users, users.c.id == projects.c.owner_id))
            .where(projects.c.id.in_(sorted(set(ids))))
        )
        with self._db.read() as conn:
            return {int(r[0]): r[1] or "" for r in conn.execute(query)}

    def ref(self, name: str) -> tuple[int, bool] | None:
        """(id, public) of a project by name, in one query (what a permission check needs)."""
        query = (
            select(projects.c.id, project_metadata.c.value)
            .select_from(
                projects.outerjoin(
                    project_metadata,
                    and_(
                        project_metadata.c.project_id == projects.c.id,
                        project_metadata.c.name == "public",
                    ),
                )
            )
            .where(projects.c.name == name)
        )
        with self._db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else (int(row[0]), row[1] == "true")

    def list(
        self,
        *,
        name: str | None = None,
        public: bool | None = None,
        owner: str | None = None,
        visible_ids: Collection[int] | None = None,
        page: int = 1,
        page_size: int = 10,
        names: Collection[str] | None = None,
    ) -> Page[Project]:
        """Projects ordered by name. ``name``: the name contains it (Harbor's fuzzy match);
        ``names``: the name is one of these (exact); ``owner``: the owner's user name;
        ``visible_ids``: only public projects and these (what a non-admin may see); None:
        every project."""
        offset, limit = check_paging(page, page_size)
        conds: builtins.list[Any] = []
        if names is not None:
            conds.append(projects.c.name.in_(sorted(set(names))))
        public_ids = select(project_metadata.c.project_id).where(
            project_metadata.c.name == "public", project_metadata.c.value == "true"
        )
        if name is not None:
            conds.append(projects.c.name.icontains(name, autoescape=True))
        if public is not None:
            conds.append(
                projects.c.id.in_(public_ids) if public else ~projects.c.id.in_(public_ids)
            )
        if owner is not None:
            conds.append(
                projects.c.owner_id.in_(select(users.c.id).where(users.c.username == owner))
            )
        if visible_ids is not None:
            ids = list(visible_ids)
            conds.append(
                or_(projects.c.id.in_(public_ids), projects.c.id.in_(ids) if ids else false())
            )
        cond = and_(*conds) if conds else None
        with self._db.read() as conn:
            count = select(func.count()).select_from(projects)
            total = conn.execute(count if cond is None else count.where(cond)).scalar_one()
            items = self._select(conn, cond, offset, limit)
        return Page(items, int(total), page, page_size)

    def _select(
        self, conn: Connection, cond: Any, offset: int | None, limit: int | None
    ) -> builtins.list[Project]:
        query = (
            select(projects, users.c.username.label("owner_name"))
            .select_from(projects.outerjoin(users, users.c.id == projects.c.owner_id))
            .order_by(projects.c.name)
        )
        if cond is not None:
            query = query.where(cond)
        if offset is not None:
            query = query.offset(offset).limit(limit)
        rows = conn.execute(query).all()
        ids = [r.id for r in rows]
        meta: dict[int, dict[str, str]] = {i: {} for i in ids}
        if ids:
            for m in conn.execute(
                select(project_metadata).where(project_metadata.c.project_id.in_(ids))
            ):
                meta[m.project_id][m.name] = m.value
        return [
            Project(
                id=r.id, name=r.name, owner_id=r.owner_id, owner_name=r.owner_name or "",
                metadata=meta[r.id], created_at=r.created_at, updated_at=r.updated_at,
                registry_id=r.registry_id, repo_count=repo_count(conn, r.name),
            )
            for r in rows
        ]  # fmt: skip

    def update_metadata(self, name_or_id: str | int, values: Mapping[str, object]) -> Project:
        """Set the given metadata keys (others are kept)."""
        project = self.get(name_or_id)
        checked = check_metadata(values)
        with self._db.write() as conn:
            for key, value in checked.items():
                conn.execute(
                    project_metadata.delete().where(
                        project_metadata.c.project_id == project.id,
                        project_metadata.c.name == key,
                    )
                )
                conn.execute(
                    project_metadata.insert().values(project_id=project.id, name=key, value=value)
                )
            conn.execute(
                projects.update()
                .where(projects.c.id == project.id)
                .values(updated_at=self._clock())
            )
        self._changed(project.name)
        return self.get(project.id)

    def delete_metadata(self, name_or_id: str | int, keys: Iterable[str]) -> Project:
        project = self.get(name_or_id)
        names = [k for k in keys if k != "public"]  # a project is always public or not
        with self._db.write() as conn:
            conn.execute(
                project_metadata.delete().where(
                    project_metadata.c.project_id == project.id,
                    project_metadata.c.name.in_(names),
                )
            )
        self._changed(project.name)
        return self.get(project.id)

    def delete(self, name_or_id: str | int, *, force: bool = False) -> Project:
        """Delete the project, its members, robots, quota and metadata. Refused (412) while
        the registry holds repositories in it, unless ``force`` (the caller deletes them)."""
        project = self.get(name_or_id)
        with self._db.write() as conn:
            count = repo_count(conn, project.name)
            if count and not force:
                raise FailedPrecondition(
                    f"project {project.name!r} still has {count} repositor"
                    f"{'y' if count == 1 else 'ies'}",
                    hint="delete its repositories first",
                )
            delete_project_rows(conn, project.id)
        self._changed(project.name)
        return project
