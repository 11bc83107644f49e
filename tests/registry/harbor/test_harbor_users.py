"""``/api/v2.0/users`` over the access model, through the real app: administrators manage
accounts, users manage themselves, CLI secrets work as registry passwords, and
``/users/current/permissions`` answers Harbor's UI question. Every answer is held to Harbor's
definitions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra.harbor_api import (
    AccessRegistry,
    access_registry,
    basic,
    check_created,
    check_empty,
    check_error,
    check_list,
    check_one,
)

API = "/api/v2.0"
PW = "Passw0rd1"
NEW = {"username": "carol", "password": "Carol1234", "email": "carol@example.org",
       "realname": "Carol", "comment": "ops"}  # fmt: skip


@pytest.fixture
def reg(tmp_path: Path) -> Iterator[AccessRegistry]:
    with access_registry(tmp_path) as r:
        yield r


def test_admin_creates_reads_updates_and_deletes_users(reg: AccessRegistry) -> None:
    r = reg.client.post(f"{API}/users", json=NEW, headers=reg.admin)
    uid = int(check_created(r, f"{API}/users"))
    user = check_one(reg.client.get(f"{API}/users/{uid}", headers=reg.admin), "UserResp")
    assert (user["username"], user["email"], user["sysadmin_flag"]) == ("carol", NEW["email"],
                                                                        False)  # fmt: skip
    carol = basic("carol", "Carol1234")
    me = check_one(reg.client.get(f"{API}/users/current", headers=carol), "UserResp")
    assert me["user_id"] == uid
    # duplicates, weak passwords and bad profiles are refused as Harbor refuses them
    check_error(reg.client.post(f"{API}/users", json=NEW, headers=reg.admin), 409, "CONFLICT")
    for change in ({"password": "weak"}, {"email": ""}, {"email": "not-an-address"},
                   {"realname": ""}, {"comment": "x" * 31}, {"username": "a,b"},
                   {"username": ""}, {"realname": 'say "hi"'}, {"password": None}):  # fmt: skip
        bad = {**NEW, "username": "dave", **change}
        r = reg.client.post(f"{API}/users", json=bad, headers=reg.admin)
        check_error(r, 400, "BAD_REQUEST")
    # profile: the admin or the user itself
    profile = {"email": "c@example.org", "realname": "Carol C", "comment": "db"}
    check_empty(reg.client.put(f"{API}/users/{uid}", json=profile, headers=carol))
    assert reg.access.users.get(uid).realname == "Carol C"
    # list with filters and paging (admins only)
    for i in range(3):
        reg.user(f"user{i}")
    r = reg.client.get(f"{API}/users", params={"q": "username=~user", "page_size": 2},
                       headers=reg.admin)  # fmt: skip
    assert [u["username"] for u in check_list(r, "UserResp")] == ["user0", "user1"]
    assert r.headers["x-total-count"] == "3" and 'rel="next"' in r.headers["link"]
    r = reg.client.get(f"{API}/users", params={"username": "caro"}, headers=reg.admin)
    assert [u["username"] for u in check_list(r, "UserResp")] == ["carol"]
    r = reg.client.get(f"{API}/users", params={"q": "username=x' OR 1=1 --"}, headers=reg.admin)
    assert check_list(r, "UserResp") == []
    check_error(reg.client.get(f"{API}/users", params={"q": "password=x"}, headers=reg.admin),
                400, "BAD_REQUEST")  # fmt: skip
    # make carol an administrator: she lists users now; then take it back
    check_empty(reg.client.put(f"{API}/users/{uid}/sysadmin", json={"sysadmin_flag": True},
                               headers=reg.admin))  # fmt: skip
    check_list(reg.client.get(f"{API}/users", headers=carol), "UserResp")
    check_empty(reg.client.put(f"{API}/users/{uid}/sysadmin", json={"sysadmin_flag": False},
                               headers=reg.admin))  # fmt: skip
    check_error(reg.client.get(f"{API}/users", headers=carol), 403, "FORBIDDEN")
    check_error(reg.client.put(f"{API}/users/{uid}/sysadmin", json={"sysadmin_flag": "yes"},
                               headers=reg.admin), 400, "BAD_REQUEST")  # fmt: skip
    # delete: not oneself, not admin; then carol cannot sign in
    admin_id = reg.access.users.by_name("admin").id
    check_error(reg.client.delete(f"{API}/users/{admin_id}", headers=reg.admin), 403,
                "FORBIDDEN")  # fmt: skip
    check_empty(reg.client.delete(f"{API}/users/{uid}", headers=reg.admin))
    check_error(reg.client.get(f"{API}/users/{uid}", headers=reg.admin), 404, "NOT_FOUND")
    check_error(reg.client.get(f"{API}/users/current", headers=carol), 401, "UNAUTHORIZED")
    check_error(reg.client.get(f"{API}/users/99999", headers=reg.admin), 404, "NOT_FOUND")
    check_error(reg.client.get(f"{API}/users/abc", headers=reg.admin), 400, "BAD_REQUEST")


def test_users_cannot_reach_other_users(reg: AccessRegistry) -> None:
    alice_id, bob_id = reg.user("alice"), reg.user("bob")
    alice = basic("alice", PW)
    check_one(reg.client.get(f"{API}/users/{alice_id}", headers=alice), "UserResp")
    for method, path, body in (
        ("GET", f"/users/{bob_id}", None),
        ("PUT", f"/users/{bob_id}", {"email": "x@example.org", "realname": "X"}),
        ("DELETE", f"/users/{bob_id}", None),
        ("PUT", f"/users/{bob_id}/password", {"new_password": "Hacked123"}),
        ("PUT", f"/users/{bob_id}/sysadmin", {"sysadmin_flag": True}),
        ("PUT", f"/users/{alice_id}/sysadmin", {"sysadmin_flag": True}),
        ("PUT", f"/users/{bob_id}/cli_secret", {"secret": "Hacked123"}),
        ("GET", "/users", None),
        ("POST", "/users", {**NEW}),
    ):
        r = reg.client.request(method, API + path, json=body, headers=alice)
        check_error(r, 403, "FORBIDDEN")
        r = reg.client.request(method, API + path, json=body)
        check_error(r, 401, "UNAUTHORIZED")
    assert not reg.access.users.get(alice_id).sysadmin
    check_error(reg.client.get(f"{API}/users/current"), 401, "UNAUTHORIZED")
    check_error(reg.client.get(f"{API}/users/current", headers=basic("alice", "wrong")), 401,
                "UNAUTHORIZED")  # fmt: skip
    # search: any signed-in user, by part of the name
    r = reg.client.get(f"{API}/users/search", params={"username": "bo"}, headers=alice)
    assert check_list(r, "UserSearchRespItem") == [{"user_id": bob_id, "username": "bob"}]
    check_error(reg.client.get(f"{API}/users/search", params={"username": "bo"}), 401,
                "UNAUTHORIZED")  # fmt: skip
    check_error(reg.client.get(f"{API}/users/search", headers=alice), 400, "BAD_REQUEST")


def test_password_changes(reg: AccessRegistry) -> None:
    uid = reg.user("alice")
    url = f"{API}/users/{uid}/password"
    alice = basic("alice", PW)
    # oneself: the old password is needed and must be right
    check_error(reg.client.put(url, json={"new_password": "Better123"}, headers=alice), 403,
                "FORBIDDEN")  # fmt: skip
    check_error(reg.client.put(url, json={"old_password": "Wrong1234", "new_password": "Better123"},
                               headers=alice), 403, "FORBIDDEN")  # fmt: skip
    check_error(reg.client.put(url, json={"old_password": PW, "new_password": PW},
                               headers=alice), 400, "BAD_REQUEST")  # fmt: skip
    check_error(reg.client.put(url, json={"old_password": PW, "new_password": "short"},
                               headers=alice), 400, "BAD_REQUEST")  # fmt: skip
    check_empty(reg.client.put(url, json={"old_password": PW, "new_password": "Better123"},
                               headers=alice))  # fmt: skip
    check_error(reg.client.get(f"{API}/users/current", headers=alice), 401, "UNAUTHORIZED")
    check_one(reg.client.get(f"{API}/users/current", headers=basic("alice", "Better123")),
              "UserResp")  # fmt: skip
    # an administrator resets it without the old one
    check_empty(reg.client.put(url, json={"new_password": "Reset1234"}, headers=reg.admin))
    check_one(reg.client.get(f"{API}/users/current", headers=basic("alice", "Reset1234")),
              "UserResp")  # fmt: skip


def test_cli_secret_is_a_registry_password(reg: AccessRegistry) -> None:
    uid = reg.user("alice")
    url = f"{API}/users/{uid}/cli_secret"
    r = reg.client.put(url, json={}, headers=basic("alice", PW))
    secret = check_one(r, "OIDCCliSecretReq")["secret"]
    check_one(reg.client.get(f"{API}/users/current", headers=basic("alice", secret)), "UserResp")
    token = reg.client.get("/service/token", params={"service": "dockyard-registry"},
                           headers=basic("alice", secret))  # fmt: skip
    assert token.status_code == 200, token.text
    # a chosen one replaces it (and is not echoed); a weak one is refused
    check_empty(reg.client.put(url, json={"secret": "Chosen123"}, headers=reg.admin))
    check_error(reg.client.get(f"{API}/users/current", headers=basic("alice", secret)), 401,
                "UNAUTHORIZED")  # fmt: skip
    check_one(reg.client.get(f"{API}/users/current", headers=basic("alice", "Chosen123")),
              "UserResp")  # fmt: skip
    check_error(reg.client.put(url, json={"secret": "weak"}, headers=reg.admin), 400,
                "BAD_REQUEST")  # fmt: skip


def test_current_permissions(reg: AccessRegistry) -> None:
    reg.user("dev")
    reg.user("outsider")
    project = reg.access.projects.create("team", owner_id=None)
    reg.access.members.add(project.id, entity_type="u",
                           entity_id=reg.access.users.by_name("dev").id, role_id=2)  # fmt: skip
    scope = f"/project/{project.id}"

    def perms(headers: dict[str, str], **params: str) -> set[tuple[str, str]]:
        r = reg.client.get(f"{API}/users/current/permissions", params=params, headers=headers)
        return {(p["resource"], p["action"]) for p in check_list_plain(r)}

    dev = perms(basic("dev", PW), scope=scope, relative="true")
    assert {("repository", "push"), ("repository", "pull"), (".", "read")} <= dev
    assert ("repository", "delete") not in dev and (".", "delete") not in dev
    absolute = perms(basic("dev", PW), scope=scope)
    assert (f"{scope}/repository", "push") in absolute and (scope, "read") in absolute
    assert perms(basic("outsider", PW), scope=scope) == set()
    admin = perms(reg.admin, scope=scope, relative="true")
    assert {(".", "delete"), ("member", "create"), ("repository", "delete")} <= admin
    system = perms(reg.admin, scope="/system", relative="true")
    assert {("user", "create"), ("audit-log", "list"), ("project", "create")} <= system
    assert perms(basic("dev", PW), scope="/system", relative="true") == {
        ("project", "create"),
        ("project", "list"),
    }
    assert perms(basic("dev", PW), scope="/project/abc") == set()
    assert perms(basic("dev", PW), scope="/elsewhere") == set()
    check_error(reg.client.get(f"{API}/users/current/permissions"), 401, "UNAUTHORIZED")


def check_list_plain(response: object) -> list[dict[str, str]]:
    """A 200 list of Permission (not paged: no X-Total-Count)."""
    from _infra.harbor_api import validate

    assert getattr(response, "status_code", None) == 200, getattr(response, "text", "")
    body = response.json()  # type: ignore[attr-defined]
    validate(body, {"type": "array", "items": {"$ref": "#/definitions/Permission"}})
    return list(body)


def test_ldap_mode_creates_no_local_users(tmp_path: Path) -> None:
    with access_registry(tmp_path, auth_mode="ldap_auth") as reg:
        r = reg.client.post(f"{API}/users", json=NEW, headers=reg.admin)
        assert "auth mode" in check_error(r, 403, "FORBIDDEN")
