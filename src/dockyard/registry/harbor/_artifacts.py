"""``…/repositories/{repository_name}/artifacts[/{reference}[/tags[/{tag_name}]]]``.

Reads come from the registry's metadata; deletes and new tags go through the registry's own
paths (``Registry.delete_manifest``, ``Registry.put_manifest``), so caches, other processes and
garbage collection see them as they see a client's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from dockyard.errors import Conflict, Denied, ManifestUnknown, NotFound
from dockyard.registry._names import check_tag, parse_digest
from dockyard.registry.harbor._access import project_in_path
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._delete_events import (
    audit_deleted,
    doomed_artifacts,
    publish_deleted,
)
from dockyard.registry.harbor._errors import BadRequest, PreconditionFailed
from dockyard.registry.harbor._labels import digests_labelled, label_ids_query, labels_json
from dockyard.registry.harbor._models import artifact_json, children, tag_json
from dockyard.registry.harbor._query import (
    AndList,
    Exact,
    Fuzzy,
    OrList,
    Range,
    Value,
    parse_bool,
    parse_query,
    parse_sort,
)
from dockyard.registry.harbor._repositories import full_name, give_back_quota
from dockyard.registry.immutability import protecting_rule, rules_of
from dockyard.registry.metadata import ArtifactQuery, ArtifactRow, TagQuery
from dockyard.registry.retention import pull_times

__all__ = [
    "create_tag",
    "delete_artifact",
    "delete_tag",
    "get_artifact",
    "list_artifacts",
    "list_artifacts_of_project",
    "list_tags",
]


class AlreadyTagged(Conflict):
    """POST …/tags with a tag the repository has already (409 CONFLICT)."""


ARTIFACT_SORT = ("push_time", "digest")
TAG_SORT = ("name", "push_time")
#: Boolean query parameters Harbor defines that change nothing here, still checked so that
#: typos are errors: ``with_signature`` marked Notary v1 tags (Harbor reads it no more, and its
#: ``Tag`` has no such field); ``with_sbom_overview`` adds the overview of Harbor's SBOM
#: generation jobs, which dockyard does not run (an artifact's SBOM is its ``sbom`` addition),
#: so ``sbom_overview`` stays absent as in Harbor for an artifact never given one.
_IGNORED_FLAGS = (
    "with_sbom_overview",
    "with_signature",
)
#: The accessory types that are signatures over their subject (Harbor's ``isSignature``).
_SIGNATURES = ("signature.cosign", "signature.notation")


def _flags(call: Call) -> tuple[bool, bool]:
    for name in _IGNORED_FLAGS:
        parse_bool(name, call.query(name), False)
    return (
        parse_bool("with_tag", call.query("with_tag"), True),
        parse_bool("with_label", call.query("with_label"), False),
    )


def _immutable_status(call: Call) -> bool:
    return parse_bool("with_immutable_status", call.query("with_immutable_status"), False)


def _protected_tags(call: Call, project: str, name: str) -> Callable[[str], bool]:
    """Blocking: whether a tag of repository ``name`` is protected by one of its project's
    enabled immutability rules (never, without the access model)."""
    access = call.api.access
    ref = access.projects.ref(project) if access is not None else None
    if ref is None:
        return lambda tag: False
    rules = rules_of(call.registry.meta.db).enabled(ref[0])
    inside = name[len(project) + 1 :]
    return lambda tag: protecting_rule(rules, inside, tag) is not None


async def _mark_immutable(call: Call, project: str, name: str, tags: list[Any]) -> None:
    """Fill in the ``immutable`` field of Harbor's ``Tag`` objects ``tags``."""
    if not tags:
        return
    protected = await call.run(_protected_tags, call, project, name)
    for tag in tags:
        tag["immutable"] = protected(tag["name"])


def _inherited(call: Call, name: str, row: ArtifactRow, own: list[dict[str, Any]] | None
               ) -> list[dict[str, Any]]:  # fmt: skip
    """Blocking: the signatures of the indexes in ``name`` listing ``row`` (Harbor's
    ``populateInheritedAccessories``: a signature on an index covers its children), none when
    ``row`` is signed in its own right; their subject stays the index."""
    from dockyard.registry.harbor._additions import accessories_of

    parents = call.registry.meta.parent_indexes(name, row.digest)
    if not parents:
        return []
    if own is None:
        own = accessories_of(call.registry, name, row)
    if any(a["type"] in _SIGNATURES for a in own):
        return []
    inventory = call.api.inventory(call.registry)
    out: list[dict[str, Any]] = []
    for digest in parents:
        parent = inventory.artifact(name, digest)
        if parent is not None:
            found = accessories_of(call.registry, name, parent)
            out += [a for a in found if a["type"] in _SIGNATURES]
    return out


async def _add_extras(
    call: Call, name: str, rows: list[ArtifactRow], listed: list[object], *, paged: bool = False
) -> None:
    """``with_accessory``: each artifact's ``accessories`` (what refers to it; ``paged``: the
    ``page``/``page_size`` of them, as getArtifact pages them); ``with_inherited_accessory``:
    the signatures it inherits from the indexes listing it, in ``inherited_accessories``;
    ``with_scan_overview``: its ``scan_overview`` when the registry scans it."""
    from dockyard.registry.harbor._additions import accessories_of, scan_overview

    accessories = parse_bool("with_accessory", call.query("with_accessory"), False)
    inherited = parse_bool(
        "with_inherited_accessory", call.query("with_inherited_accessory"), False
    )
    overview = parse_bool("with_scan_overview", call.query("with_scan_overview"), False)
    page = call.page() if paged else None
    for row, artifact in zip(rows, listed, strict=True):
        if not isinstance(artifact, dict):
            continue
        own = None
        if accessories:
            own = await call.run(accessories_of, call.registry, name, row)
            shown = own
            if page is not None:
                shown = own[(page.number - 1) * page.size : page.number * page.size]
            artifact["accessories"] = shown
        if inherited:
            parents = await call.run(_inherited, call, name, row, own)
            if parents:
                artifact["inherited_accessories"] = parents
        if overview:
            found = await call.run(scan_overview, call.registry, name, row.digest)
            if found is not None:
                artifact["scan_overview"] = found


async def _mark_artifacts(call: Call, project: str, name: str, artifacts: list[object]) -> None:
    tags = [
        tag
        for artifact in artifacts
        if isinstance(artifact, dict)
        for tag in artifact.get("tags") or ()
    ]
    await _mark_immutable(call, project, name, tags)


async def _check_delete(call: Call, name: str, reference: str) -> None:
    """The registry's guards may refuse the delete (an immutable tag): 412 PRECONDITION, as
    Harbor's API answers, with the guard's message."""
    guard = call.registry.guard
    if guard is None:
        return
    try:
        await call.run(guard.check_delete, name, reference)
    except Denied as exc:
        raise PreconditionFailed(exc.message, hint=exc.hint) from None


def _time(value: Value | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int):
        return float(value)
    raise BadRequest(f"push_time range ends must be times (2006-01-02T15:04:05), not {value!r}")


def _artifact_query(call: Call) -> ArtifactQuery:
    page = call.page()
    sort = parse_sort(call.query("sort"), ARTIFACT_SORT)
    fields: dict[str, object] = {}
    for key, term in parse_query(call.query("q")).items():
        if key == "tags":
            if isinstance(term, Exact) and term.value in ("*", "nil"):
                fields["tagged"] = term.value == "*"
            elif isinstance(term, Exact):
                fields["tags_any"] = (term.value,)
            elif isinstance(term, Fuzzy):
                fields["tag_contains"] = term.value
            elif isinstance(term, OrList):
                fields["tags_any"] = tuple(str(v) for v in term.values)
            elif isinstance(term, AndList):
                fields["tags_all"] = tuple(str(v) for v in term.values)
            else:
                raise BadRequest("tags cannot be a range")
        elif key == "digest":
            if isinstance(term, Exact):
                fields["digests"] = (term.value,)
            elif isinstance(term, Fuzzy):
                fields["digest_contains"] = term.value
            elif isinstance(term, OrList):
                fields["digests"] = tuple(str(v) for v in term.values)
            else:
                raise BadRequest("filter digests by digest=d, digest=~part or digest={d1 d2}")
        elif key == "labels":  # read by label_ids_query
            continue
        elif key == "push_time":
            if not isinstance(term, Range):
                raise BadRequest("filter push_time by a range: push_time=[min~max]")
            fields["pushed"] = (_time(term.min), _time(term.max))
        else:
            raise BadRequest(
                f"cannot filter artifacts by {key!r}",
                hint="filter by tags, digest, push_time or labels",
            )
    return ArtifactQuery(sort=sort, offset=page.offset, limit=page.size, **fields)  # type: ignore[arg-type]


async def _render(
    call: Call, rows: list[ArtifactRow], with_tag: bool, with_label: bool
) -> list[object]:
    inventory = call.api.inventory(call.registry)
    tags = await call.run(inventory.tags_of, [r.id for r in rows]) if with_tag else {}
    labels = await call.run(labels_json, call, [r.id for r in rows]) if with_label else {}
    pulled: dict[str, float] = {}
    if rows:
        pulled = await call.run(pull_times, call.registry.meta.db, rows[0].repository,
                                [r.digest for r in rows])  # fmt: skip
    out: list[object] = []
    for row in rows:
        listed = children(row)
        ids = await call.run(inventory.artifact_ids, row.repository, listed) if listed else {}
        out.append(
            artifact_json(
                row,
                tags=tags.get(row.id, []) if with_tag else None,
                labels=labels.get(row.id, []) if with_label else None,
                child_ids=ids,
                pulled_at=pulled.get(row.digest),
            )
        )
    return out


async def list_artifacts(call: Call) -> Reply:
    project, name = full_name(call)
    with_tag, with_label = _flags(call)
    query = _artifact_query(call)
    label_ids = label_ids_query(call)
    await call.require(project, "artifact", "list")
    inventory = call.api.inventory(call.registry)
    if await call.run(inventory.repository, name) is None:
        raise NotFound(f"repository {name} not found")
    if label_ids:  # the artifacts carrying every label, within any digest filter
        labelled = await call.run(digests_labelled, call, name, label_ids)
        kept = [d for d in labelled if query.digests is None or d in query.digests]
        query = replace(query, digests=tuple(kept))
    total, rows = await call.run(inventory.artifacts, name, query)
    listed = await _render(call, rows, with_tag, with_label)
    await _add_extras(call, name, rows, listed)
    if with_tag and _immutable_status(call):
        await _mark_artifacts(call, project, name, listed)
    return call.paged(listed, total, call.page())


async def list_artifacts_of_project(call: Call) -> Reply:
    """Every repository's artifacts in the project, with listArtifacts' filters, sort and
    flags (``latest_in_repository`` is accepted: Harbor applies it only with an
    ``artifact_type`` or ``media_type`` filter, which are not taken here)."""
    if call.api.access is not None:
        project = (await project_in_path(call, "artifact", "list"))[1].name
    else:  # without the access model a project is a first path component, named
        project = call.param("project_name_or_id")
        await call.require(project, "artifact", "list")
    with_tag, with_label = _flags(call)
    parse_bool("latest_in_repository", call.query("latest_in_repository"), False)
    query = _artifact_query(call)
    if label_ids_query(call):
        raise BadRequest("labels filter one repository's artifacts",
                         hint="list …/repositories/{repository_name}/artifacts?q=labels=(…)")  # fmt: skip
    inventory = call.api.inventory(call.registry)
    total, rows = await call.run(inventory.project_artifacts, project, query)
    out: list[object] = [None] * len(rows)
    by_repository: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_repository.setdefault(row.repository, []).append(i)
    for name, where in by_repository.items():  # rendered a repository at a time
        part = [rows[i] for i in where]
        listed = await _render(call, part, with_tag, with_label)
        await _add_extras(call, name, part, listed)
        if with_tag and _immutable_status(call):
            await _mark_artifacts(call, project, name, listed)
        for i, artifact in zip(where, listed, strict=True):
            out[i] = artifact
    return call.paged(out, total, call.page())


async def _resolve(call: Call, name: str, reference: str | None = None) -> ArtifactRow:
    """The artifact ``reference`` (a digest or a tag; by default the path's) names in
    ``name``."""
    reference = call.param("reference") if reference is None else reference
    inventory = call.api.inventory(call.registry)
    if ":" in reference:
        digest = str(parse_digest(reference))
    else:
        tag = await call.run(inventory.tag, name, reference)
        if tag is None:
            raise NotFound(f"artifact {name}:{reference} not found")
        row = await call.run(inventory.artifact_by_id, tag.artifact_id)
        if row is None:
            raise NotFound(f"artifact {name}:{reference} not found")
        return row
    found = await call.run(inventory.artifact, name, digest)
    if found is None:
        raise NotFound(f"artifact {name}@{digest} not found")
    return found


async def get_artifact(call: Call) -> Reply:
    project, name = full_name(call)
    with_tag, with_label = _flags(call)
    await call.require(project, "artifact", "read")
    row = await _resolve(call, name)
    listed = await _render(call, [row], with_tag, with_label)
    await _add_extras(call, name, [row], listed, paged=True)
    if with_tag and _immutable_status(call):
        await _mark_artifacts(call, project, name, listed)
    return Reply(json=listed[0])


def _deletes_allowed(call: Call) -> None:
    if not call.registry.delete_enabled:
        raise PreconditionFailed(
            "deleting is disabled on this registry",
            hint="set storage.delete.enabled: true to allow it",
        )


async def delete_artifact(call: Call) -> Reply:
    """The artifact and every tag on it (a tag as reference deletes what it points at)."""
    project, name = full_name(call)
    await call.require(project, "artifact", "delete")
    _deletes_allowed(call)
    row = await _resolve(call, name)
    parents = await call.run(call.registry.meta.parent_indexes, name, row.digest)
    if parents:
        raise PreconditionFailed(
            f"artifact {name}@{row.digest} is listed by index {parents[0]}",
            hint="delete the index first",
        )
    await _check_delete(call, name, row.digest)  # e.g. an immutable tag on it
    doomed = await call.run(doomed_artifacts, call.registry, call.api, name, [row.digest])
    try:
        await call.run(call.registry.delete_manifest, name, row.digest)
    except ManifestUnknown:
        raise NotFound(f"artifact {name}@{row.digest} not found") from None
    await give_back_quota(call, name)
    await publish_deleted(call, name, doomed)  # DELETE_ARTIFACT
    await audit_deleted(call, "artifact", f"{name}@{row.digest}")
    return Reply()


async def list_tags(call: Call) -> Reply:
    project, name = full_name(call)
    page = call.page()
    sort = parse_sort(call.query("sort"), TAG_SORT)
    immutable = _immutable_status(call)
    names: tuple[str, ...] | None = None
    contains = None
    for key, term in parse_query(call.query("q")).items():
        if key != "name":
            raise BadRequest(f"cannot filter tags by {key!r}", hint="use q=name=… or name=~…")
        if isinstance(term, Exact):
            names = (term.value,)
        elif isinstance(term, Fuzzy):
            contains = term.value
        elif isinstance(term, OrList):
            names = tuple(str(v) for v in term.values)
        else:
            raise BadRequest("filter tags by name=v, name=~v or name={a b}")
    await call.require(project, "tag", "list")
    row = await _resolve(call, name)
    query = TagQuery(names, contains, sort, page.offset, page.size)
    total, rows = await call.run(call.api.inventory(call.registry).tags, row.id, query)
    listed = [tag_json(t) for t in rows]
    if immutable:
        await _mark_immutable(call, project, name, listed)
    return call.paged(listed, total, page)


async def create_tag(call: Call) -> Reply:
    project, name = full_name(call)
    await call.require(project, "tag", "create")
    body = await call.json_body()
    tag = body.get("name")
    if not isinstance(tag, str) or not tag:
        raise BadRequest('the body must be {"name": "<tag>"}')
    check_tag(tag)
    row = await _resolve(call, name)
    if await call.run(call.api.inventory(call.registry).tag, name, tag) is not None:
        raise AlreadyTagged(f"tag {tag} already exists in {name}", hint="delete it first")
    guard = call.registry.guard
    ticket = None
    if guard is not None:
        ticket = await call.run(guard.check_manifest, name, (tag,), row.content, row.media_type)
    await call.run(
        call.registry.put_manifest, name, row.digest, row.content, row.media_type, (tag,)
    )
    if guard is not None:
        await call.run(guard.pushed_manifest, name, ticket)
    location = f"{call.request.path}/{quote(tag)}"
    return Reply(status=201, headers=[("Location", location)])


async def delete_tag(call: Call) -> Reply:
    project, name = full_name(call)
    await call.require(project, "tag", "delete")
    _deletes_allowed(call)
    row = await _resolve(call, name)
    tag = call.param("tag_name")
    found = await call.run(call.api.inventory(call.registry).tag, name, tag)
    if found is None or found.artifact_id != row.id:
        raise NotFound(f"tag {tag} not found on artifact {name}@{row.digest}")
    await _check_delete(call, name, tag)  # e.g. an immutable tag
    try:
        await call.run(call.registry.delete_manifest, name, tag)
    except ManifestUnknown:
        raise NotFound(f"tag {tag} not found") from None
    await give_back_quota(call, name)
    await audit_deleted(call, "tag", f"{name}:{tag}")
    return Reply()
