"""``/users``: local accounts, as Harbor's ``db_auth`` mode manages them.

System administrators (and system robots holding ``user`` accesses) list, create, read,
update and delete users and make them administrators; a user reads and updates itself,
changes its own password (with the old one) and sets its own CLI secret; any signed-in user
may search users by name (to add them as members). ``/users/current`` is the caller.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from dockyard.errors import Denied
from dockyard.registry.access import ADMIN
from dockyard.registry.harbor._access import access_of, body_str, optional_str
from dockyard.registry.harbor._access_json import user_json
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest, PreconditionFailed
from dockyard.registry.harbor._query import Exact, Fuzzy, parse_query, parse_sort
from dockyard.registry.identity import Identity

__all__ = [
    "create_user",
    "current_user",
    "delete_user",
    "get_user",
    "list_users",
    "search_users",
    "set_cli_secret",
    "set_sysadmin",
    "update_password",
    "update_profile",
]

#: Harbor's e-mail rule (``validateUserProfile``) and the characters a name may not hold.
_EMAIL = re.compile(
    r"^(([^<>()\[\]\\.,;:\s@\"]+(\.[^<>()\[\]\\.,;:\s@\"]+)*)|(\".+\"))@"
    r"((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\])|(([a-zA-Z\-0-9]+\.)+[a-zA-Z]{2,}))$"
)
_ILLEGAL = set(',"~#%$')
_MAX_COMMENT = 30


def _user_id(call: Call) -> int:
    return int(call.params["user_id"])


def _is_self(identity: Identity, user_id: int) -> bool:
    return identity.kind == "user" and identity.id == user_id


async def _self_or(call: Call, user_id: int, action: str) -> Identity:
    """The caller when it is the user itself, or may ``action`` users at system level."""
    access_of(call)
    identity = await call.authenticated()
    if _is_self(identity, user_id):
        return identity
    return await call.require(None, "user", action)


def _profile(body: dict[str, Any], *, create: bool) -> dict[str, str]:
    """Harbor's checks of a profile: an e-mail address, a real name, a short comment."""
    email, realname = body_str(body, "email"), body_str(body, "realname")
    comment = body_str(body, "comment")
    if not email:
        raise BadRequest("email can't be empty")
    if len(email) > 255 or not _EMAIL.match(email):
        raise BadRequest("email with illegal format")
    if not 1 <= len(realname) <= 255:
        raise BadRequest("realname with illegal length")
    if _ILLEGAL & set(realname):
        raise BadRequest("realname contains illegal characters")
    if len(comment) > _MAX_COMMENT:
        raise BadRequest(f"comment with illegal length (at most {_MAX_COMMENT} characters)")
    out = {"email": email, "realname": realname, "comment": comment}
    if create:
        username = body_str(body, "username")
        if not 1 <= len(username) <= 255:
            raise BadRequest("username with illegal length")
        if _ILLEGAL & set(username):
            raise BadRequest("username contains illegal characters")
        out["username"] = username
    return out


async def list_users(call: Call) -> Reply:
    page = call.page()
    parse_sort(call.query("sort"), ("user_id",))  # listed by id, always
    username = call.query("username") or None
    fuzzy = username is not None
    for key, term in parse_query(call.query("q")).items():
        if key == "username" and isinstance(term, Exact | Fuzzy):
            username, fuzzy = term.value, isinstance(term, Fuzzy)
        else:
            raise BadRequest(
                f"cannot filter users by {key!r} that way", hint="use q=username=… or =~…"
            )
    access_of(call)
    await call.authenticated()
    await call.require(None, "user", "list")
    found = await call.run(
        partial(
            access_of(call).users.list, username=username, fuzzy=fuzzy, page=page.number,
            page_size=page.size,
        )
    )  # fmt: skip
    return call.paged([user_json(u) for u in found.items], found.total, page)


async def create_user(call: Call) -> Reply:
    access = access_of(call)
    if call.api.settings.auth_mode != "db_auth":
        raise Denied(
            f"creating local user is not allowed under auth mode: {call.api.settings.auth_mode}"
        )
    identity = await call.authenticated()
    await call.require(None, "user", "create")
    body = await call.json_body()
    profile = _profile(body, create=True)
    password = body_str(body, "password")
    username = profile.pop("username")
    user = await call.run(
        partial(
            access.users.create, username, password, email=profile["email"],
            realname=profile["realname"], comment=profile["comment"],
        )
    )  # fmt: skip
    await call.run(
        access.audit.record, "create", "user", user.username, identity.name, "", call.client_ip
    )
    location = f"{call.request.path.rstrip('/')}/{user.id}"
    return Reply(status=201, headers=[("Location", location)])


async def current_user(call: Call) -> Reply:
    access = access_of(call)
    identity = await call.authenticated()
    if identity.kind != "user" or identity.id is None:
        raise PreconditionFailed(
            f"get current user not available for {identity.kind} {identity.name}",
            hint="a robot account has no user profile: GET /robots/{id} shows it",
        )
    return Reply(json=user_json(await call.run(access.users.get, identity.id)))


async def get_user(call: Call) -> Reply:
    user_id = _user_id(call)
    await _self_or(call, user_id, "read")
    return Reply(json=user_json(await call.run(access_of(call).users.get, user_id)))


async def update_profile(call: Call) -> Reply:
    user_id = _user_id(call)
    await _self_or(call, user_id, "update")
    profile = _profile(await call.json_body(), create=False)
    await call.run(
        partial(
            access_of(call).users.update_profile, user_id, email=profile["email"],
            realname=profile["realname"], comment=profile["comment"],
        )
    )  # fmt: skip
    return Reply()


async def delete_user(call: Call) -> Reply:
    access = access_of(call)
    user_id = _user_id(call)
    identity = await call.authenticated()
    await call.require(None, "user", "delete")
    user = await call.run(access.users.get, user_id)
    if _is_self(identity, user_id) or user.username == ADMIN:
        raise Denied(f"user with ID {user_id} cannot be deleted")
    await call.run(access.users.delete, user_id)
    await call.run(
        access.audit.record, "delete", "user", user.username, identity.name, "", call.client_ip
    )
    return Reply()


async def update_password(call: Call) -> Reply:
    """Users give their old password; administrators changing another's do not."""
    access = access_of(call)
    user_id = _user_id(call)
    identity = await _self_or(call, user_id, "update")
    body = await call.json_body()
    new = body_str(body, "new_password")
    old = optional_str(body, "old_password") if _is_self(identity, user_id) else None
    if _is_self(identity, user_id) and not old:
        raise Denied("Current password is incorrect", hint="give old_password")
    if old is not None and old == new:
        raise BadRequest("New password is identical to old password")
    await call.run(partial(access.users.change_password, user_id, new, old=old))
    return Reply()


async def set_sysadmin(call: Call) -> Reply:
    access = access_of(call)
    user_id = _user_id(call)
    identity = await call.authenticated()
    await call.require(None, "user", "update")
    flag = (await call.json_body()).get("sysadmin_flag")
    if not isinstance(flag, bool):
        raise BadRequest("sysadmin_flag must be true or false")
    user = await call.run(access.users.set_sysadmin, user_id, flag)
    await call.run(
        partial(
            access.audit.record, "update", "user", user.username, identity.name, "",
            call.client_ip, description=f"sysadmin {str(flag).lower()}",
        )
    )  # fmt: skip
    return Reply()


async def set_cli_secret(call: Call) -> Reply:
    """A new CLI secret (the user's registry password for docker, podman, skopeo); an empty
    one is made up and answered, once, as ``{"secret": …}``."""
    user_id = _user_id(call)
    await _self_or(call, user_id, "update")
    chosen = body_str(await call.json_body(), "secret") or None
    secret = await call.run(access_of(call).users.set_cli_secret, user_id, chosen)
    return Reply(json={"secret": secret} if chosen is None else None)


async def search_users(call: Call) -> Reply:
    access_of(call)
    page = call.page()
    username = call.query("username")
    if not username:
        raise BadRequest("username is required", hint="GET /users/search?username=…")
    await call.authenticated()
    found = await call.run(
        partial(
            access_of(call).users.list, username=username, fuzzy=True, page=page.number,
            page_size=page.size,
        )
    )  # fmt: skip
    items = [{"user_id": u.id, "username": u.username} for u in found.items]
    return call.paged(items, found.total, page)
