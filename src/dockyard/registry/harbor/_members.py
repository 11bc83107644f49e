"""``/projects/{project_name_or_id}/members[/{mid}]``: who is in a project with which role (the
``member`` resource of the project's permission table)."""

from __future__ import annotations

from functools import partial
from typing import Any

from dockyard.registry.harbor._access import (
    access_of,
    body_int,
    body_str,
    project_in_path,
    project_ref,
)
from dockyard.registry.harbor._access_json import member_json
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest

__all__ = [
    "create_member",
    "delete_member",
    "get_member",
    "list_members",
    "update_member",
]


def _role(body: dict[str, Any]) -> int:
    role = body_int(body, "role_id")
    if role is None:
        raise BadRequest("role_id is required", hint="1 projectAdmin, 2 developer, 3 guest, "
                         "4 maintainer, 5 limitedGuest")  # fmt: skip
    return role


def _entity(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest(f"{key} must be an object")
    return value


async def list_members(call: Call) -> Reply:
    page = call.page()
    _, project = await project_in_path(call, "member", "list")
    name = call.query("entityname") or None
    found = await call.run(
        partial(
            access_of(call).members.list, project.id, entityname=name, page=page.number,
            page_size=page.size,
        )
    )  # fmt: skip
    return call.paged([member_json(m) for m in found.items], found.total, page)


async def create_member(call: Call) -> Reply:
    """A user (``member_user``: ``user_id`` or ``username``) or a group (``member_group``:
    ``id``, or ``group_name`` with ``group_type`` and ``ldap_group_dn``, made if new)."""
    identity, project = await project_in_path(call, "member", "create")
    access = access_of(call)
    body = await call.json_body()
    role = _role(body)
    user, group = _entity(body, "member_user"), _entity(body, "member_group")
    if (user is None) == (group is None):
        raise BadRequest("give either member_user or member_group")
    add = partial(access.add_member, identity, project.name, role_id=role, client_ip=call.client_ip)
    if user is not None:
        username = body_str(user, "username")
        user_id = body_int(user, "user_id")
        if user_id:
            username = (await call.run(access.users.get, user_id)).username
        if not username:
            raise BadRequest("member_user needs a user_id or a username")
        member = await call.run(partial(add, username=username))
    else:
        assert group is not None
        name = body_str(group, "group_name")
        group_type = body_int(group, "group_type") or 1
        if not name:
            raise BadRequest("member_group needs a group_name")
        member = await call.run(
            partial(
                add, group=name, group_type=group_type,
                ldap_group_dn=body_str(group, "ldap_group_dn"),
            )
        )  # fmt: skip
    where = project_ref(call)
    location = f"/api/v2.0/projects/{where}/members/{member.id}"
    return Reply(status=201, headers=[("Location", location)])


async def get_member(call: Call) -> Reply:
    _, project = await project_in_path(call, "member", "read")
    mid = int(call.params["mid"])
    member = await call.run(access_of(call).members.get, project.id, mid)
    return Reply(json=member_json(member))


async def update_member(call: Call) -> Reply:
    identity, project = await project_in_path(call, "member", "update")
    role = _role(await call.json_body())
    mid = int(call.params["mid"])
    await call.run(
        partial(
            access_of(call).update_member, identity, project.name, mid, role,
            client_ip=call.client_ip,
        )
    )  # fmt: skip
    return Reply()


async def delete_member(call: Call) -> Reply:
    identity, project = await project_in_path(call, "member", "delete")
    mid = int(call.params["mid"])
    await call.run(
        partial(
            access_of(call).remove_member, identity, project.name, mid, client_ip=call.client_ip
        )
    )
    return Reply()
