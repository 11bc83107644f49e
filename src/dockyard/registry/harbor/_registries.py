"""``/registries``: the endpoint registries replication copies to (create, list, get, update,
delete, ping, info) and ``/replication/adapters``. System administrators only (Harbor's
``registry`` resource). A credential's secret is stored sealed and used, never answered:
``access_secret`` reads ``*****`` (Harbor's mask), blank when there is none."""

from __future__ import annotations

from functools import partial
from typing import Any

from dockyard.errors import DockyardError
from dockyard.registry.harbor._access import access_of
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest
from dockyard.registry.harbor._models import DEFINITIONS, harbor_time
from dockyard.registry.harbor._query import Exact, Fuzzy, parse_query, parse_sort
from dockyard.registry.replication import (
    MASK,
    REGISTRY_TYPES,
    RegistryStore,
    RemoteRegistry,
    Replication,
    ping,
    ping_target,
    registry_from_json,
    registry_update,
    replication_of,
)

__all__ = [
    "create_registry",
    "delete_registry",
    "get_registry",
    "get_registry_info",
    "list_adapters",
    "list_registries",
    "ping_registry",
    "registry_json",
    "update_registry",
]

RESOURCE = "registry"


def _str(doc: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": doc, **extra}


def _nullable(kind: str, doc: str) -> dict[str, Any]:
    return {"type": kind, "description": doc, "x-nullable": True}


DEFINITIONS.update(
    {
        "RegistryCredential": {
            "type": "object",
            "properties": {
                "type": _str("Credential type, such as 'basic', 'oauth'."),
                "access_key": _str("Access key, e.g. user name when credential type is 'basic'."),
                "access_secret": _str("Access secret (write-only: ***** in answers)."),
            },
        },
        "Registry": {
            "type": "object",
            "properties": {
                "id": {"type": "integer", "format": "int64", "description": "The registry ID."},
                "url": _str("The registry URL string."),
                "name": _str("The registry name."),
                "credential": {"$ref": "#/definitions/RegistryCredential"},
                "type": _str("Type of the registry: docker-registry or harbor."),
                "insecure": {"type": "boolean", "description": "Whether or not the "
                             "certificate will be verified when dockyard accesses the server."},
                "description": _str("Description of the registry."),
                "status": _str("Health status of the registry."),
                "creation_time": _str("The create time of the registry.", format="date-time"),
                "update_time": _str("The update time of the registry.", format="date-time"),
            },
        },
        "RegistryUpdate": {
            "type": "object",
            "properties": {
                "name": _nullable("string", "The registry name."),
                "description": _nullable("string", "Description of the registry."),
                "url": _nullable("string", "The registry URL."),
                "credential_type": _nullable("string", "Credential type of the registry."),
                "access_key": _nullable("string", "The registry access key."),
                "access_secret": _nullable("string", "The registry access secret."),
                "insecure": _nullable("boolean", "Whether the certificate is not verified."),
            },
        },
        "RegistryPing": {
            "type": "object",
            "properties": {
                "id": {"type": "integer", "format": "int64", "description": "The registry ID.",
                       "x-nullable": True},
                "type": _nullable("string", "Type of the registry."),
                "url": _nullable("string", "The registry URL."),
                "credential_type": _nullable("string", "Credential type of the registry."),
                "access_key": _nullable("string", "The registry access key."),
                "access_secret": _nullable("string", "The registry access secret."),
                "insecure": _nullable("boolean", "Whether the certificate is not verified."),
            },
        },
        "RegistryInfo": {
            "type": "object",
            "description": "The registry's type and what replication supports with it",
            "properties": {
                "type": _str("The registry type"),
                "description": _str("The description"),
                "supported_resource_filters": {
                    "type": "array", "items": {"$ref": "#/definitions/FilterStyle"},
                    "description": "The filters that the registry supports",
                },
                "supported_triggers": {"type": "array", "items": {"type": "string"},
                                       "description": "The triggers that the registry supports"},
            },
        },
        "FilterStyle": {
            "type": "object",
            "description": "The style of the resource filter",
            "properties": {
                "type": _str("The filter type"),
                "style": _str("The filter style"),
                "values": {"type": "array", "items": {"type": "string"},
                           "description": "The filter values"},
            },
        },
    }
)  # fmt: skip


def registry_json(registry: RemoteRegistry, status: str = "unknown") -> dict[str, Any]:
    return {
        "id": registry.id,
        "url": registry.url,
        "name": registry.name,
        "credential": {
            "type": registry.credential_type,
            "access_key": registry.access_key,
            "access_secret": MASK if registry.access_secret else "",
        },
        "type": registry.type,
        "insecure": registry.insecure,
        "description": registry.description,
        "status": status,
        "creation_time": harbor_time(registry.creation_time),
        "update_time": harbor_time(registry.update_time),
    }


async def _store(call: Call, action: str) -> RegistryStore:
    """The endpoint store, for a system administrator (412 without the access model)."""
    access_of(call)
    await call.require(None, RESOURCE, action)
    replication: Replication = await call.run(replication_of, call.registry)
    return replication.registries


def _id(call: Call, name: str = "id") -> int:
    raw = call.param(name)
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18):
        raise BadRequest(f"{name} must be a positive integer, not {raw[:40]!r}")
    return int(raw)


def _name_filter(call: Call) -> str | None:
    name = call.query("name")
    for key, term in parse_query(call.query("q")).items():
        if key == "name" and isinstance(term, Exact | Fuzzy):
            name = term.value
        else:
            raise BadRequest(f"cannot filter registries by {key!r}", hint="use q=name=~…")
    return name


async def list_registries(call: Call) -> Reply:
    store = await _store(call, "list")
    parse_sort(call.query("sort"), ("id",))
    page = call.page()
    found, total = await call.run(
        partial(store.listing, name=_name_filter(call), page=page.number, size=page.size)
    )
    return call.paged([registry_json(r) for r in found], total, page)


async def create_registry(call: Call) -> Reply:
    store = await _store(call, "create")
    body = await call.json_body()
    created = await call.run(store.create, registry_from_json(body))
    return Reply(status=201, headers=[("Location", f"/api/v2.0/registries/{created.id}")])


async def get_registry(call: Call) -> Reply:
    store = await _store(call, "read")
    registry = await call.run(store.get, _id(call))
    return Reply(json=registry_json(registry))


async def update_registry(call: Call) -> Reply:
    store = await _store(call, "update")
    body = await call.json_body()
    base = await call.run(store.get, _id(call))
    await call.run(store.update, registry_update(base, body))
    return Reply()


async def delete_registry(call: Call) -> Reply:
    store = await _store(call, "delete")
    await call.run(store.delete, _id(call))
    return Reply()


async def ping_registry(call: Call) -> Reply:
    """200 when the registry answers ``/v2/`` with the credential; 400 saying why not."""
    store = await _store(call, "read")
    body = await call.json_body()
    stored = None
    if body.get("id") is not None:
        raw = body["id"]
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise BadRequest("id must be an integer")
        stored = await call.run(store.get, raw)
    target = ping_target(body, stored)
    try:
        await call.run(ping, target)
    except DockyardError as exc:
        raise BadRequest(f"failed to ping registry {target.url}: {exc}") from None
    return Reply()


async def get_registry_info(call: Call) -> Reply:
    store = await _store(call, "read")
    registry = await call.run(store.get, _id(call))
    return Reply(
        json={
            "type": registry.type,
            "description": "",
            "supported_resource_filters": [
                {"type": "name", "style": "input", "values": []},
                {"type": "tag", "style": "input", "values": []},
                {"type": "label", "style": "input", "values": []},
                {"type": "resource", "style": "radio", "values": ["image", "artifact"]},
            ],
            "supported_triggers": ["manual", "event_based", "scheduled"],
        }
    )


async def list_adapters(call: Call) -> Reply:
    access_of(call)
    await call.require(None, "replication-adapter", "list")
    return Reply(json=list(REGISTRY_TYPES))
