"""Promotion, a dockyard extension of Harbor's API (Harbor has no such endpoint):

* ``POST …/repositories/{repository_name}/artifacts/{reference}/promote`` with
  ``{"tag": "prod", "require": {...}}`` moves the tag to the artifact's digest when every gate
  (the project's promotion policies for that tag, and the request's) holds: 200 with each gate's
  evidence; 403 naming the failing gates; 409 when another change to the tag came first.
* ``/projects/{project_name_or_id}/promotion_policies[/{id}]``: the project's "tags that
  require gates" (list, create, get, replace, delete).

Permissions, from Harbor's table: promoting is creating the tag and deleting its old place
(``tag: create`` and ``tag: delete``, maintainers and project admins); reading policies is
``project: read``, changing them ``project: update`` (project admins), as the keys they name
are what the registry trusts.
"""

from __future__ import annotations

import weakref
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.registry._registry import Registry
from dockyard.registry.access import AccessService
from dockyard.registry.events import NO_EVENTS, EventSink
from dockyard.registry.harbor._access import access_of, project_in_path
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest
from dockyard.registry.harbor._models import DEFINITIONS, harbor_time
from dockyard.registry.harbor._repositories import full_name
from dockyard.registry.promotion import (
    PromotionGuard,
    PromotionPolicy,
    Promotions,
    open_promotions,
    parse_requirements,
    parse_tags,
)

if TYPE_CHECKING:
    from dockyard.registry.harbor._api import HarborApi

__all__ = [
    "bind_promotions",
    "create_policy",
    "delete_policy",
    "get_policy",
    "list_policies",
    "promote",
    "promotion_guards",
    "promotions_of",
    "replace_policy",
]

_BOUND: weakref.WeakKeyDictionary[HarborApi, Promotions] = weakref.WeakKeyDictionary()


def bind_promotions(api: HarborApi, promotions: Promotions) -> None:
    """Let ``api`` serve ``promotions`` (with their events sink and vulnerability database);
    without this it opens default ones over its registry on first use."""
    _BOUND[api] = promotions


def promotions_of(call: Call) -> Promotions:
    """The API's promotions (opened here on first use: call it from a thread)."""
    found = _BOUND.get(call.api)
    if found is None or found.registry is not call.registry:
        found = open_promotions(call.registry, access_of(call))
        _BOUND[call.api] = found
    return found


def _policy_json(policy: PromotionPolicy) -> dict[str, Any]:
    return {
        **policy.to_json(),
        "creation_time": harbor_time(policy.creation_time),
        "update_time": harbor_time(policy.update_time),
    }


async def promote(call: Call) -> Reply:
    project, name = full_name(call)
    body = await call.json_body()
    tag = body.get("tag")
    if not isinstance(tag, str) or not tag:
        raise BadRequest('the body must be {"tag": "<tag>", "require": {...}}')
    unknown = sorted(set(body) - {"tag", "require"})
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)}; known: tag, require")
    request = parse_requirements(body.get("require"))
    identity = await call.require(project, "tag", "create")
    await call.require(project, "tag", "delete")
    promotions = await call.run(promotions_of, call)
    done = await call.run(
        partial(
            promotions.promote,
            name,
            call.param("reference"),
            tag,
            request,
            operator=identity.name,
            client_ip=call.client_ip,
        )
    )
    return Reply(json=done.to_json())


def _policy_body(body: dict[str, Any]) -> tuple[tuple[str, ...], Any]:
    unknown = sorted(set(body) - {"id", "tags", "require", "creation_time", "update_time"})
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)}; known: tags, require")
    return parse_tags(body.get("tags")), parse_requirements(body.get("require"))


def _policy_id(call: Call) -> int:
    raw = call.param("id")
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest(f"id must be an integer, not {raw[:20]!r}")
    return int(raw)


async def list_policies(call: Call) -> Reply:
    _, project = await project_in_path(call, "project", "read")
    promotions = await call.run(promotions_of, call)
    found = await call.run(promotions.policies.of_project, project.id, project.name)
    items = [_policy_json(p) for p in found]
    return Reply(json=items, headers=[("X-Total-Count", str(len(items)))])


async def create_policy(call: Call) -> Reply:
    _, project = await project_in_path(call, "project", "update")
    tags, require = _policy_body(await call.json_body())
    promotions = await call.run(promotions_of, call)
    made = await call.run(promotions.policies.create, project.id, project.name, tags, require)
    return Reply(status=201, headers=[("Location", f"{call.request.path}/{made.id}")])


async def get_policy(call: Call) -> Reply:
    _, project = await project_in_path(call, "project", "read")
    promotions = await call.run(promotions_of, call)
    found = await call.run(promotions.policies.get, project.id, project.name, _policy_id(call))
    return Reply(json=_policy_json(found))


async def replace_policy(call: Call) -> Reply:
    _, project = await project_in_path(call, "project", "update")
    tags, require = _policy_body(await call.json_body())
    promotions = await call.run(promotions_of, call)
    await call.run(
        promotions.policies.replace, project.id, project.name, _policy_id(call), tags, require
    )
    return Reply()


async def delete_policy(call: Call) -> Reply:
    _, project = await project_in_path(call, "project", "update")
    promotions = await call.run(promotions_of, call)
    await call.run(promotions.policies.delete, project.id, project.name, _policy_id(call))
    return Reply()


def _s(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


_KEYS = {"type": "array", "items": {"type": "string"}, "description": "PEM public keys"}

#: The shapes of the promotion endpoints (a dockyard extension: not in Harbor's swagger).
DEFINITIONS.update(
    {
        "PromotionRequirements": {
            "type": "object",
            "x-dockyard-extension": True,
            "description": "dockyard extension: the gates a promotion must pass",
            "properties": {
                "signature": {
                    "type": "object",
                    "description": "A cosign signature by one of the keys (none: a trusted key)",
                    "properties": {"keys": _KEYS},
                },
                "scan": {
                    "type": "object",
                    "description": "A scan report no older than the vulnerability database",
                    "properties": {"max_severity": _s("The highest severity allowed (e.g. high)")},
                },
                "attestation": {
                    "type": "array",
                    "description": "Signed in-toto attestations the digest must have",
                    "items": {
                        "type": "object",
                        "properties": {
                            "predicate_type": _s("The predicate type (a URI)"),
                            "keys": _KEYS,
                        },
                    },
                },
            },
        },
        "PromotionRequest": {
            "type": "object",
            "x-dockyard-extension": True,
            "description": "dockyard extension: move a tag to this artifact if the gates hold",
            "properties": {
                "tag": _s("The tag to move (e.g. prod)"),
                "require": {"$ref": "#/definitions/PromotionRequirements"},
            },
        },
        "PromotionGate": {
            "type": "object",
            "x-dockyard-extension": True,
            "description": "dockyard extension: one gate's outcome and evidence",
            "properties": {
                "gate": _s("signature, scan or attestation"),
                "source": _s('Who asked for it: "policy <id>" or "request"'),
                "passed": {"type": "boolean", "description": "Whether the gate held"},
                "message": _s("What was found"),
                "evidence": {
                    "type": "object",
                    "description": "Key ids, the scan summary, attestation digests",
                },
            },
        },
        "Promotion": {
            "type": "object",
            "x-dockyard-extension": True,
            "description": "dockyard extension: a tag moved by a promotion",
            "properties": {
                "repository": _s("The repository"),
                "tag": _s("The tag moved"),
                "digest": _s("The digest the tag points at now"),
                "previous": {**_s("Where the tag pointed before"), "x-nullable": True},
                "moved": {"type": "boolean", "description": "False: it pointed there already"},
                "gates": {
                    "type": "array",
                    "items": {"$ref": "#/definitions/PromotionGate"},
                },
            },
        },
        "PromotionPolicy": {
            "type": "object",
            "x-dockyard-extension": True,
            "description": "dockyard extension: tags of a project that require gates",
            "properties": {
                "id": {"type": "integer", "format": "int64", "description": "The policy's id"},
                "tags": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Tag names or patterns (* and ?)",
                },
                "require": {"$ref": "#/definitions/PromotionRequirements"},
                "creation_time": {**_s("The creation time"), "format": "date-time"},
                "update_time": {**_s("The update time"), "format": "date-time"},
            },
        },
    }
)


def promotion_guards(
    api: HarborApi,
    registry: Registry | None,
    access: AccessService,
    *,
    vulndb: Path | None = None,
    events: EventSink = NO_EVENTS,
) -> list[PromotionGuard]:
    """For ``auth: projects``: promotions over ``registry`` served by ``api``, and the push
    guard that holds the projects' promotion policies (none without a registry)."""
    if registry is None:
        return []
    promotions = open_promotions(registry, access, vulndb=vulndb, events=events)
    bind_promotions(api, promotions)
    return [PromotionGuard(promotions)]
