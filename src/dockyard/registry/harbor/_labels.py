"""``/labels[/{label_id}]`` and ``…/artifacts/{reference}/labels[/{label_id}]``: Harbor's labels.

As Harbor's handlers (``src/server/v2.0/handler/label.go`` and ``artifact.go``): a global
label (scope ``g``) is made, read, changed and deleted by a system administrator (the
``label`` resource at system level); a project label (scope ``p``) by whom the project's
permission table lets (``label``: project administrators and maintainers change them, every
member and, in a public project, anyone reads and lists them). Listing global labels needs no
permission. Attaching a label to an artifact and removing it are the ``artifact-label``
resource's ``create`` and ``delete`` (project administrators, maintainers and developers);
the label must be global or the artifact's project's (404 otherwise). Changes answer ``200``
with no body; a new label ``201`` with its ``Location``; a second label of the same name in
the same scope (and project), or a label attached twice, ``409``.
"""

from __future__ import annotations

from typing import Any

from dockyard.errors import NotFound
from dockyard.registry.harbor._access import body_int, body_str, require_project
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest
from dockyard.registry.harbor._models import harbor_time
from dockyard.registry.harbor._query import AndList, Exact, Fuzzy, parse_query, parse_sort
from dockyard.registry.harbor._repositories import full_name
from dockyard.registry.labels import GLOBAL, PROJECT, Label, labels_of

__all__ = [
    "add_artifact_label",
    "create_label",
    "delete_label",
    "get_label",
    "label_json",
    "list_labels",
    "remove_artifact_label",
    "update_label",
]

RESOURCE = "label"
LABEL_SORT = ("id", "name", "creation_time", "update_time")


def label_json(label: Label) -> dict[str, Any]:
    """Harbor's ``Label``."""
    return {
        "id": label.id,
        "name": label.name,
        "description": label.description,
        "color": label.color,
        "scope": label.scope,
        "project_id": label.project_id,
        "creation_time": harbor_time(label.created_at),
        "update_time": harbor_time(label.updated_at),
    }


async def _require(call: Call, label: Label, action: str) -> None:
    """Harbor's ``requireAccess``: system access for a global label, project access for a
    project label."""
    if label.scope == GLOBAL:
        await call.require(None, RESOURCE, action)
    else:
        await require_project(call, label.project_id, RESOURCE, action)


async def _label(call: Call) -> Label:
    label_id = int(call.params["label_id"])
    found = await call.run(labels_of(call.registry.meta.db).get, label_id)
    if found is None:
        raise NotFound(f"label {label_id} not found", hint="list labels to see their ids")
    return found


def _positive(raw: str | None, name: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise BadRequest(f"{name} must be a positive integer, not {raw[:40]!r}")
    return int(raw)


async def list_labels(call: Call) -> Reply:
    page = call.page()
    sort = parse_sort(call.query("sort"), LABEL_SORT)
    scope = call.query("scope") or ""
    if scope not in (GLOBAL, PROJECT):
        raise BadRequest(f"invalid scope: {scope[:40]}", hint="scope is g (global) or p (project)")
    exact: str | None = None
    contains = call.query("name") or None
    for key, term in parse_query(call.query("q")).items():
        if key != "name":
            raise BadRequest(f"cannot filter labels by {key!r}", hint="use q=name=… or name=~…")
        if isinstance(term, Exact):
            exact = term.value
        elif isinstance(term, Fuzzy):
            contains = term.value
        else:
            raise BadRequest("filter labels by name=v or name=~v")
    project_id = _positive(call.query("project_id"), "project_id")
    if scope == PROJECT:
        if not project_id:
            raise BadRequest("must with project ID when to query project labels",
                             hint="add project_id=<the project's id>")  # fmt: skip
        await require_project(call, project_id, RESOURCE, "list")
    store = await call.run(labels_of, call.registry.meta.db)
    total, found = await call.run(
        store.page, scope, project_id, name=exact, name_contains=contains, sort=sort,
        offset=page.offset, limit=page.size,
    )  # fmt: skip
    return call.paged([label_json(label) for label in found], total, page)


def _fields(body: dict[str, Any]) -> tuple[str, str, str]:
    return body_str(body, "name"), body_str(body, "description"), body_str(body, "color")


async def create_label(call: Call) -> Reply:
    body = await call.json_body()
    name, description, color = _fields(body)
    scope = body_str(body, "scope")
    project_id = body_int(body, "project_id") or 0
    if scope == GLOBAL:
        await call.require(None, RESOURCE, "create")
    elif scope == PROJECT:
        if project_id <= 0:
            raise BadRequest(f"invalid project_id: {project_id}",
                             hint="a project label needs its project's id")  # fmt: skip
        await require_project(call, project_id, RESOURCE, "create")
    else:
        raise BadRequest(f"unsupported label scope: {scope[:40]!r}", hint="use g or p")
    store = await call.run(labels_of, call.registry.meta.db)
    made = await call.run(
        store.create, name, scope, project_id if scope == PROJECT else None, description, color
    )
    location = f"{call.request.path.rstrip('/')}/{made.id}"
    return Reply(status=201, headers=[("Location", location)])


async def get_label(call: Call) -> Reply:
    label = await _label(call)
    await _require(call, label, "read")
    return Reply(json=label_json(label))


async def update_label(call: Call) -> Reply:
    body = await call.json_body()
    label = await _label(call)
    await _require(call, label, "update")
    name, description, color = _fields(body)
    store = await call.run(labels_of, call.registry.meta.db)
    await call.run(store.update, label.id, name, description, color)
    return Reply()


async def delete_label(call: Call) -> Reply:
    label = await _label(call)
    await _require(call, label, "delete")
    store = await call.run(labels_of, call.registry.meta.db)
    await call.run(store.delete, label.id)
    return Reply()


def _project_id(call: Call, project: str) -> int:
    """Blocking: the id of access-model project ``project`` (0 without the access model)."""
    access = call.api.access
    ref = access.projects.ref(project) if access is not None else None
    return ref[0] if ref is not None else 0


async def add_artifact_label(call: Call) -> Reply:
    """Attach the label the body's ``id`` names to the artifact."""
    from dockyard.registry.harbor._artifacts import _resolve

    project, name = full_name(call)
    await call.require(project, "artifact-label", "create")
    body = await call.json_body()
    label_id = body_int(body, "id")
    if label_id is None or label_id <= 0:
        raise BadRequest('the body must name the label by its id: {"id": <label id>}')
    store = await call.run(labels_of, call.registry.meta.db)
    label = await call.run(store.get, label_id)
    if label is None or (
        label.scope == PROJECT and label.project_id != await call.run(_project_id, call, project)
    ):
        raise NotFound(f"project {project}, label {label_id} not found",
                       hint="attach a global label or one of this project's")  # fmt: skip
    row = await _resolve(call, name)
    await call.run(store.attach, label.id, row.id)
    return Reply()


async def remove_artifact_label(call: Call) -> Reply:
    from dockyard.registry.harbor._artifacts import _resolve

    project, name = full_name(call)
    await call.require(project, "artifact-label", "delete")
    row = await _resolve(call, name)
    store = await call.run(labels_of, call.registry.meta.db)
    await call.run(store.detach, int(call.params["label_id"]), row.id)
    return Reply()


def labels_json(call: Call, artifact_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Blocking: Harbor's ``labels`` of each artifact (``with_label=true``)."""
    found = labels_of(call.registry.meta.db).of_artifacts(artifact_ids)
    return {a: [label_json(label) for label in found.get(a, [])] for a in artifact_ids}


def label_ids_query(call: Call) -> tuple[int, ...]:
    """The label ids of the artifact list's ``q=labels=(id1 id2)`` (or ``labels=id``): the
    artifacts carrying every one of them; () when the query names none."""
    term = parse_query(call.query("q")).get("labels")
    if term is None:
        return ()
    if isinstance(term, Exact):
        values: tuple[object, ...] = (term.value,)
    elif isinstance(term, AndList):
        values = term.values
    else:
        raise BadRequest("filter by labels with labels=(id1 id2) or labels=id")
    out = []
    for value in values:
        text = str(value)
        if not text.isascii() or not text.isdigit() or len(text) > 18:
            raise BadRequest(f"labels are given by their ids, not {text[:40]!r}")
        out.append(int(text))
    return tuple(out)


def digests_labelled(call: Call, repository: str, label_ids: tuple[int, ...]) -> tuple[str, ...]:
    """Blocking: the digests in ``repository`` carrying every label of ``label_ids``."""
    return labels_of(call.registry.meta.db).digests_with_all(repository, label_ids)
