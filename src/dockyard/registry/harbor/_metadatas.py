"""``/projects/{project_name_or_id}/metadatas/[{meta_name}]``: a project's metadata, one key
at a time as Harbor does it (the ``metadata`` resource of the project's permission table)."""

from __future__ import annotations

from functools import partial

from dockyard.errors import NotFound
from dockyard.registry.access import METADATA_KEYS
from dockyard.registry.harbor._access import access_of, project_in_path
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest
from dockyard.registry.harbor._projects import metadata_of

__all__ = [
    "add_metadatas",
    "delete_metadata",
    "get_metadata",
    "list_metadatas",
    "update_metadata",
]


def _one_pair(values: dict[str, str]) -> dict[str, str]:
    """Harbor takes exactly one known key per call."""
    if len(values) != 1:
        raise BadRequest("only allow one key/value pair")
    [key] = values
    if key not in METADATA_KEYS:
        raise BadRequest(
            f"unknown project metadata {key[:64]!r}",
            hint=f"use one of {', '.join(sorted(METADATA_KEYS))}",
        )
    return values


def _known(name: str) -> str:
    if name not in METADATA_KEYS:
        raise NotFound(f"project metadata {name[:64]!r} not found")
    return name


async def list_metadatas(call: Call) -> Reply:
    _, project = await project_in_path(call, "metadata", "list")
    return Reply(json=dict(project.metadata))


async def add_metadatas(call: Call) -> Reply:
    identity, project = await project_in_path(call, "metadata", "create")
    values = _one_pair(metadata_of({"m": await call.json_body()}, "m"))
    await call.run(
        partial(
            access_of(call).update_project, identity, project.name, values,
            client_ip=call.client_ip,
        )
    )  # fmt: skip
    return Reply()


async def get_metadata(call: Call) -> Reply:
    _, project = await project_in_path(call, "metadata", "read")
    name = _known(call.param("meta_name"))
    if name not in project.metadata:
        return Reply(json={})
    return Reply(json={name: project.metadata[name]})


async def update_metadata(call: Call) -> Reply:
    """The body's value for ``meta_name`` (other keys in the body are ignored, as Harbor)."""
    identity, project = await project_in_path(call, "metadata", "update")
    name = _known(call.param("meta_name"))
    body = metadata_of({"m": await call.json_body()}, "m")
    if name not in body:
        raise BadRequest(f"the body must give a value for {name}", hint=f'{{"{name}": "…"}}')
    await call.run(
        partial(
            access_of(call).update_project, identity, project.name, {name: body[name]},
            client_ip=call.client_ip,
        )
    )  # fmt: skip
    return Reply()


async def delete_metadata(call: Call) -> Reply:
    _, project = await project_in_path(call, "metadata", "delete")
    name = _known(call.param("meta_name"))
    if name == "public":
        raise BadRequest("a project is always public or not: set public to false instead")
    await call.run(access_of(call).projects.delete_metadata, project.id, [name])
    return Reply()
