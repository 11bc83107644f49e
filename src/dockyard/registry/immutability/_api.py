"""``/projects/{project_name_or_id}/immutabletagrules[/{immutable_rule_id}]``: a project's
immutability rules (the ``immutable-tag`` resource of the project's permission table:
project administrators and maintainers list, create, update and delete them).

Answers as Harbor's: ``201`` with a ``Location`` ending in the new rule's id, ``200`` with no
body for a change, ``400`` for a rule the API cannot store, ``409`` for a second rule with the
same selectors, ``404`` for a rule of another project. A ``PUT`` replaces the selectors,
priority and ``disabled`` in one go (Harbor only toggles when ``disabled`` changes).
"""

from __future__ import annotations

from dockyard.registry.harbor._access import project_in_path, project_ref
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest
from dockyard.registry.harbor._models import DEFINITIONS
from dockyard.registry.harbor._query import parse_query, parse_sort
from dockyard.registry.immutability._rules import rule_from_json
from dockyard.registry.immutability._store import rules_of

__all__ = ["create_rule", "delete_rule", "list_rules", "update_rule"]

RESOURCE = "immutable-tag"

_SELECTOR = {"$ref": "#/definitions/ImmutableSelector"}

#: Harbor's shapes of ``/immutabletagrules`` (what :meth:`ImmutableRule.json` emits).
DEFINITIONS.update(
    {
        "ImmutableSelector": {
            "type": "object",
            "description": "One selector: kind doublestar, a decoration, a pattern",
            "properties": {
                "kind": {"type": "string", "description": "doublestar"},
                "decoration": {
                    "type": "string",
                    "description": "matches or excludes (tags); repoMatches or repoExcludes "
                    "(repositories)",
                },
                "pattern": {"type": "string", "description": "A doublestar pattern"},
            },
        },
        "ImmutableRule": {
            "type": "object",
            "description": "Tags the tag selector selects, in repositories the repository "
            "selector selects, never move nor go",
            "properties": {
                "id": {"type": "integer", "description": "The rule's id"},
                "priority": {"type": "integer", "description": "Kept, not used"},
                "disabled": {"type": "boolean", "description": "A disabled rule protects nothing"},
                "action": {"type": "string", "description": "immutable"},
                "template": {"type": "string", "description": "immutable_template"},
                "tag_selectors": {
                    "type": "array",
                    "description": "One tag selector",
                    "items": _SELECTOR,
                },
                "scope_selectors": {
                    "type": "object",
                    "description": 'The repository selector: {"repository": [one selector]}',
                    "additionalProperties": {"type": "array", "items": _SELECTOR},
                },
            },
        },
    }
)


def _rule_id(call: Call) -> int:
    raw = call.params["immutable_rule_id"]
    return int(raw)


async def list_rules(call: Call) -> Reply:
    page = call.page()
    if parse_query(call.query("q")):
        raise BadRequest("immutable tag rules cannot be filtered", hint="leave q out")
    sort = parse_sort(call.query("sort"), ("id",))
    _, project = await project_in_path(call, RESOURCE, "list")
    store = await call.run(rules_of, call.registry.meta.db)
    newest_first = bool(sort) and sort[0][1]
    total, rules = await call.run(
        store.page, project.id, page.offset, page.size, newest_first=newest_first
    )
    return call.paged([r.json() for r in rules], total, page)


async def create_rule(call: Call) -> Reply:
    _, project = await project_in_path(call, RESOURCE, "create")
    rule = rule_from_json(await call.json_body(), project_id=project.id)
    store = await call.run(rules_of, call.registry.meta.db)
    stored = await call.run(store.create, project.id, rule)
    location = f"/api/v2.0/projects/{project_ref(call)}/immutabletagrules/{stored.id}"
    return Reply(status=201, headers=[("Location", location)])


async def update_rule(call: Call) -> Reply:
    rule_id = _rule_id(call)
    body = await call.json_body()
    given = body.get("id")
    if given is not None and given != rule_id:
        raise BadRequest(
            "the immutable_rule_id doesn't match the id in the payload body of ImmutableRule"
        )
    _, project = await project_in_path(call, RESOURCE, "update")
    rule = rule_from_json(body, rule_id=rule_id, project_id=project.id)
    store = await call.run(rules_of, call.registry.meta.db)
    await call.run(store.update, project.id, rule_id, rule)
    return Reply()


async def delete_rule(call: Call) -> Reply:
    rule_id = _rule_id(call)
    _, project = await project_in_path(call, RESOURCE, "delete")
    store = await call.run(rules_of, call.registry.meta.db)
    await call.run(store.delete, project.id, rule_id)
    return Reply()
