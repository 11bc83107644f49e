"""``/repositories`` and ``/projects/{project_name}/repositories[/{repository_name}]``.

A repository's project is its first path component: ``team/app`` is ``app`` in project
``team``. With the access model, projects are its projects (a project without repositories
exists, one that was never made does not: 404) and repositories carry their ``project_id``;
without it, a project exists while it holds a repository, and a repository without a project
component (``busybox``) is addressed as ``busybox`` in project :data:`NO_PROJECT` (``_``, a
name no repository component can have). With it, deletes give the project's quota back what
no manifest holds any more (:func:`give_back_quota`).
"""

from __future__ import annotations

import logging

from dockyard.errors import Denied, NameInvalid, NameUnknown, NotFound
from dockyard.registry._names import check_name
from dockyard.registry._push_guard import PushGuard
from dockyard.registry._quota_hook import QuotaGuard
from dockyard.registry._registry import Registry
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._delete_events import (
    audit_deleted,
    doomed_artifacts,
    publish_deleted,
)
from dockyard.registry.harbor._descriptions import MAX_DESCRIPTION
from dockyard.registry.harbor._errors import BadRequest, PreconditionFailed
from dockyard.registry.harbor._models import repository_json
from dockyard.registry.harbor._query import Exact, Fuzzy, OrList, parse_query, parse_sort
from dockyard.registry.metadata import RepositoryQuery, RepositoryRow

__all__ = [
    "NO_PROJECT",
    "delete_repository",
    "full_name",
    "get_repository",
    "give_back_quota",
    "list_all_repositories",
    "list_repositories",
    "update_repository",
]

SORT_KEYS = ("name", "creation_time", "update_time", "artifact_count")
#: without the access model: the project of the repositories whose names have no ``/``
NO_PROJECT = "_"

log = logging.getLogger("dockyard.registry")


def full_name(call: Call) -> tuple[str, str]:
    """(project, repository): the path's project and repository names, joined; NotFound when
    they cannot name a repository (nothing by that name can exist)."""
    project = call.param("project_name")
    name = f"{project}/{call.param('repository_name')}"
    if project == NO_PROJECT and call.api.access is None:
        name = call.param("repository_name")
        if "/" in name:  # that one has a project of its own
            raise NotFound(f"repository {project}/{name} not found")
    try:
        if "/" in project:
            raise NameInvalid("a project name has no '/'")
        check_name(name)
    except NameInvalid:
        raise NotFound(f"repository {name} not found") from None
    return project, name


async def give_back_quota(call: Call, name: str) -> None:
    """After a delete in repository ``name``: with the access model, its project gives back
    every counted blob no manifest references any more (as a ``/v2/`` delete does). The delete
    has happened: a failure here is logged, and the next delete reconciles again. With the
    registry's guard chain (``Registry.guard``), every guard hears of the delete."""
    guard = call.registry.guard
    access = call.api.access
    if guard is None and access is not None:
        guard = QuotaGuard(access, call.registry.meta.db)
    if guard is None:
        return
    try:
        await call.run(guard.deleted, name)
    except Exception:
        log.exception("cannot give quota back after a delete in %s", name)


def _project_prefix(project: str) -> str:
    if "/" in project:
        raise NotFound(f"project {project} not found")
    return f"{project}/"


def _name_filter(call: Call) -> tuple[tuple[str, ...] | None, str | None]:
    names: tuple[str, ...] | None = None
    contains = None
    for key, term in parse_query(call.query("q")).items():
        if key != "name":
            raise BadRequest(
                f"cannot filter repositories by {key!r}", hint="use q=name=… or name=~…"
            )
        if isinstance(term, Exact):
            names = (term.value,)
        elif isinstance(term, Fuzzy):
            contains = term.value
        elif isinstance(term, OrList):
            names = tuple(str(v) for v in term.values)
        else:
            raise BadRequest("filter repositories by name=v, name=~v or name={a b}")
    return names, contains


def _project_ids(call: Call, names: list[str]) -> dict[str, int]:
    """project name → id of the access model's projects among the repositories' ``names``."""
    access = call.api.access
    if access is None:
        return {}
    out: dict[str, int] = {}
    for project in {n.partition("/")[0] for n in names if "/" in n}:
        found = access.projects.ref(project)
        if found is not None:
            out[project] = found[0]
    return out


async def _reply(call: Call, total: int, rows: list[RepositoryRow]) -> Reply:
    names = [r.name for r in rows]
    notes = await call.run(call.api.descriptions(call.registry).get_many, names)
    ids = await call.run(_project_ids, call, names)
    items = [repository_json(r, notes.get(r.name), ids.get(r.name.partition("/")[0])) for r in rows]
    return call.paged(items, total, call.page())


async def list_all_repositories(call: Call) -> Reply:
    page = call.page()
    names, contains = _name_filter(call)
    sort = parse_sort(call.query("sort"), SORT_KEYS)
    prefixes: tuple[str, ...] | None = None
    if not await call.allowed(None, "repository", "list"):
        projects = await call.run(call.api.inventory(call.registry).project_names)
        visible = [p for p in projects if await call.allowed(p, "repository", "list")]
        prefixes = tuple(_project_prefix(p) for p in visible)
    query = RepositoryQuery(names, contains, prefixes, sort, page.offset, page.size)
    total, rows = await call.run(call.api.inventory(call.registry).repositories, query)
    return await _reply(call, total, rows)


async def _require_project(call: Call, project: str, action: str) -> str:
    await call.require(project, "repository", action)
    prefix = _project_prefix(project)
    if call.api.access is not None:
        if await call.run(call.api.access.projects.ref, project) is None:
            raise NotFound(f"project {project} not found")
        return prefix
    inventory = call.api.inventory(call.registry)
    found, _ = await call.run(inventory.repositories, RepositoryQuery(prefixes=(prefix,), limit=1))
    if not found:
        raise NotFound(f"project {project} not found")
    return prefix


async def list_repositories(call: Call) -> Reply:
    project = call.param("project_name")
    page = call.page()
    names, contains = _name_filter(call)
    sort = parse_sort(call.query("sort"), SORT_KEYS)
    prefix = await _require_project(call, project, "list")
    if names is not None:
        names = tuple(n if n.startswith(prefix) else prefix + n for n in names)
    query = RepositoryQuery(names, contains, (prefix,), sort, page.offset, page.size)
    total, rows = await call.run(call.api.inventory(call.registry).repositories, query)
    return await _reply(call, total, rows)


async def _repository(call: Call, action: str) -> tuple[str, RepositoryRow]:
    project, name = full_name(call)
    await call.require(project, "repository", action)
    row = await call.run(call.api.inventory(call.registry).repository, name)
    if row is None:
        raise NotFound(f"repository {name} not found")
    return name, row


async def get_repository(call: Call) -> Reply:
    name, row = await _repository(call, "read")
    description = await call.run(call.api.descriptions(call.registry).get, name)
    ids = await call.run(_project_ids, call, [name])
    return Reply(json=repository_json(row, description, ids.get(name.partition("/")[0])))


async def update_repository(call: Call) -> Reply:
    """Only the description can change (as in Harbor)."""
    name, _ = await _repository(call, "update")
    body = await call.json_body()
    description = body.get("description", "")
    if not isinstance(description, str):
        raise BadRequest("description must be a string")
    if len(description) > MAX_DESCRIPTION:
        raise BadRequest(f"description is longer than {MAX_DESCRIPTION} characters")
    await call.run(call.api.descriptions(call.registry).set, name, description)
    return Reply()


def _check_delete_tags(guard: PushGuard, registry: Registry, name: str) -> None:
    try:
        tags = registry.tags(name)
    except NameUnknown:
        return
    for tag in tags:
        guard.check_delete(name, tag)


async def delete_repository(call: Call) -> Reply:
    """Every artifact and tag goes; garbage collection reclaims the blobs."""
    name, _ = await _repository(call, "delete")
    if not call.registry.delete_enabled:
        raise PreconditionFailed(
            "deleting is disabled on this registry",
            hint="set storage.delete.enabled: true to allow it",
        )
    guard = call.registry.guard
    if guard is not None:  # e.g. an immutable tag in it: 412, as Harbor's API answers
        try:
            await call.run(_check_delete_tags, guard, call.registry, name)
        except Denied as exc:
            raise PreconditionFailed(exc.message, hint=exc.hint) from None
    doomed = await call.run(doomed_artifacts, call.registry, call.api, name)
    try:
        await call.run(call.registry.delete_repository, name)
    except NameUnknown:
        raise NotFound(f"repository {name} not found") from None
    await call.run(call.api.descriptions(call.registry).forget, name)
    await give_back_quota(call, name)
    await publish_deleted(call, name, doomed)  # DELETE_ARTIFACT for each
    await audit_deleted(call, "repository", name)
    return Reply()
