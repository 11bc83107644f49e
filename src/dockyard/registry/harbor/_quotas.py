"""``/quotas[/{id}]``: projects' storage quotas, for the system's ``quota`` accesses (system
administrators, system robots given them). A quota's id is its project's id; its ``ref`` is
the project (``id``, ``name``, ``owner_name``), its ``hard`` and ``used`` are
``{"storage": bytes}`` (hard -1: unlimited). ``sort=`` takes Harbor's keys: ``id``,
``creation_time``, ``update_time``, ``hard.storage``, ``used.storage`` (``-`` descending)."""

from __future__ import annotations

from functools import partial

from dockyard.errors import NotFound
from dockyard.registry.access import AccessService, Project, Quota
from dockyard.registry.access._quotas import SORT_KEYS
from dockyard.registry.harbor._access import access_of, body_int
from dockyard.registry.harbor._access_json import quota_json
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest
from dockyard.registry.harbor._query import parse_sort

__all__ = ["get_quota", "list_quotas", "update_quota"]


def _project(access: AccessService, project_id: int) -> Project:
    found = access.projects.find(project_id)
    if found is None:
        raise NotFound(f"quota {project_id} not found", hint="a quota's id is its project's id")
    return found


def _listed(
    access: AccessService,
    project_id: int | None,
    page: int,
    size: int,
    sort: tuple[tuple[str, bool], ...] = (),
) -> tuple[list[tuple[Quota, str]], int]:
    if project_id is not None:
        found = access.projects.find(project_id)
        if found is None or page > 1:
            return [], 0 if found is None else 1
        return [(access.quotas.get(found.name), found.owner_name)], 1
    listed = access.quotas.list(page=page, page_size=size, sort=sort)
    owners = access.projects.owner_names([q.project_id for q in listed.items])
    return [(q, owners.get(q.project_id, "")) for q in listed.items], listed.total


async def list_quotas(call: Call) -> Reply:
    access = access_of(call)
    page = call.page()
    reference = call.query("reference")
    reference_id = call.query("reference_id")
    # Harbor's keys, e.g. sort=-used.storage (the largest use first)
    sort = parse_sort(call.query("sort"), SORT_KEYS)
    project_id: int | None = None
    if reference_id:
        if not (reference_id.isascii() and reference_id.isdigit() and len(reference_id) <= 18):
            raise BadRequest(f"reference_id must be a project id, not {reference_id[:40]!r}")
        project_id = int(reference_id)
    await call.authenticated()
    await call.require(None, "quota", "list")
    if reference not in (None, "", "project"):
        return call.paged([], 0, page)  # only projects have quotas
    items, total = await call.run(_listed, access, project_id, page.number, page.size, sort)
    return call.paged([quota_json(q, owner) for q, owner in items], total, page)


async def get_quota(call: Call) -> Reply:
    access = access_of(call)
    await call.authenticated()
    await call.require(None, "quota", "read")
    project = await call.run(_project, access, int(call.params["id"]))
    quota = await call.run(access.quotas.get, project.name)
    return Reply(json=quota_json(quota, project.owner_name))


async def update_quota(call: Call) -> Reply:
    """``{"hard": {"storage": bytes}}``: -1 for no limit; below current use is allowed (it
    only stops further pushes, as Harbor)."""
    access = access_of(call)
    identity = await call.authenticated()
    await call.require(None, "quota", "update")
    project = await call.run(_project, access, int(call.params["id"]))
    hard = (await call.json_body()).get("hard")
    if not isinstance(hard, dict) or not hard:
        raise BadRequest("hard is required", hint='{"hard": {"storage": 1073741824}}')
    unknown = sorted(set(hard) - {"storage"})
    if unknown:
        raise BadRequest(f"quota resource {unknown[0][:32]!r} is not supported",
                         hint="only storage has a quota")  # fmt: skip
    storage = body_int(hard, "storage")
    if storage is None:
        raise BadRequest("hard.storage must be an integer (bytes, or -1 for no limit)")
    await call.run(access.quotas.set_hard, project.name, storage)
    await call.run(
        partial(
            access.audit.record, "update", "quota", project.name, identity.name, project.name,
            call.client_ip, description=f"hard storage {storage}",
        )
    )  # fmt: skip
    return Reply()
