"""``/api/v2.0/projects`` over the access model, through the real app: CRUD round trips, who
sees and may change what (admin, maintainer, developer, guest, outsider, anonymous, robot;
public and private projects), metadata, members, summaries, project logs, and repositories
that now belong to projects. Every answer is held to Harbor's definitions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _infra import backend
from _infra.harbor_api import (
    AccessRegistry,
    access_registry,
    basic,
    check_created,
    check_empty,
    check_error,
    check_list,
    check_one,
    validate,
)
from _infra.registry_server import push_image

API = "/api/v2.0"
PW = "Passw0rd1"


@pytest.fixture
def reg(tmp_path: Path) -> Iterator[AccessRegistry]:
    with access_registry(tmp_path) as r:
        yield r


def _create(reg: AccessRegistry, body: dict[str, Any], auth: dict[str, str]) -> int:
    r = reg.client.post(f"{API}/projects", json=body, headers=auth)
    return int(check_created(r, f"{API}/projects"))


def _team(reg: AccessRegistry) -> dict[str, dict[str, str]]:
    """Project ``team`` (private) owned by ``owner``, with a maintainer, a developer, a guest
    and a limited guest; ``outsider`` is in no project. The Basic headers by name."""
    names = ("owner", "maint", "dev", "guest", "limited", "outsider")
    for name in names:
        reg.user(name)
    auth = {name: basic(name, PW) for name in names}
    _create(reg, {"project_name": "team"}, auth["owner"])
    for name, role in (("maint", 4), ("dev", 2), ("guest", 3), ("limited", 5)):
        r = reg.client.post(
            f"{API}/projects/team/members",
            json={"role_id": role, "member_user": {"username": name}},
            headers={**auth["owner"], "X-Is-Resource-Name": "true"},
        )
        check_created(r, f"{API}/projects/team/members")
    return auth


def test_create_get_update_delete_round_trip(reg: AccessRegistry) -> None:
    body = {
        "project_name": "web",
        "metadata": {"public": "true", "auto_scan": "true", "severity": "high"},
        "storage_limit": 1 << 30,
    }
    r = reg.client.post(f"{API}/projects", json=body, headers=reg.admin)
    pid = int(check_created(r, f"{API}/projects"))
    project = check_one(reg.client.get(f"{API}/projects/{pid}", headers=reg.admin), "Project")
    assert (project["project_id"], project["name"], project["owner_name"]) == (pid, "web", "admin")
    assert project["metadata"] == {"public": "true", "auto_scan": "true", "severity": "high"}
    assert project["current_user_role_ids"] == [1] and project["current_user_role_id"] == 1
    assert project["repo_count"] == 0 and project["deleted"] is False
    # by name as well; X-Is-Resource-Name makes a number a name
    same = check_one(reg.client.get(f"{API}/projects/web", headers=reg.admin), "Project")
    assert same == project
    check_error(
        reg.client.get(f"{API}/projects/{pid}", headers={**reg.admin, "X-Is-Resource-Name": "true"}),
        404, "NOT_FOUND",
    )  # fmt: skip
    # the quota the admin gave
    quota = reg.access.quotas.get("web")
    assert quota.hard == 1 << 30
    # update: metadata only, unknown values refused
    r = reg.client.put(
        f"{API}/projects/web", json={"metadata": {"public": "false", "prevent_vul": "true"}},
        headers=reg.admin,
    )  # fmt: skip
    check_empty(r)
    project = check_one(reg.client.get(f"{API}/projects/web", headers=reg.admin), "Project")
    assert project["metadata"]["public"] == "false" and project["metadata"]["prevent_vul"] == "true"
    check_error(
        reg.client.put(f"{API}/projects/web", json={"metadata": {"severity": "awful"}},
                       headers=reg.admin),
        400, "BAD_REQUEST",
    )  # fmt: skip
    # duplicate: 409; delete; then 404
    check_error(reg.client.post(f"{API}/projects", json={"project_name": "web"}, headers=reg.admin),
                409, "CONFLICT")  # fmt: skip
    check_empty(reg.client.delete(f"{API}/projects/{pid}", headers=reg.admin))
    check_error(reg.client.get(f"{API}/projects/web", headers=reg.admin), 404, "NOT_FOUND")
    check_error(reg.client.delete(f"{API}/projects/web", headers=reg.admin), 404, "NOT_FOUND")


def test_location_by_name_head_and_deletable(reg: AccessRegistry) -> None:
    r = reg.client.post(
        f"{API}/projects", json={"project_name": "named", "public": True},
        headers={**reg.admin, "X-Resource-Name-In-Location": "true"},
    )  # fmt: skip
    assert check_created(r, f"{API}/projects") == "named"
    assert reg.access.projects.get("named").public
    head = reg.client.head(f"{API}/projects", params={"project_name": "named"}, headers=reg.admin)
    assert (head.status_code, head.content) == (200, b"")
    missing = reg.client.head(f"{API}/projects", params={"project_name": "nope"},
                              headers=reg.admin)  # fmt: skip
    assert (missing.status_code, missing.content) == (404, b"")
    assert reg.client.head(f"{API}/projects", params={"project_name": "named"}).status_code == 401
    check_error(reg.client.get(f"{API}/projects/named/_deletable"), 401, "UNAUTHORIZED")
    deletable = check_one(
        reg.client.get(f"{API}/projects/named/_deletable", headers=reg.admin), "ProjectDeletable"
    )
    assert deletable == {"deletable": True}
    push_image(_Pusher(reg), "named/app", "v1")
    deletable = check_one(
        reg.client.get(f"{API}/projects/named/_deletable", headers=reg.admin), "ProjectDeletable"
    )
    assert deletable["deletable"] is False
    r = reg.client.delete(f"{API}/projects/named", headers=reg.admin)
    assert "repositor" in check_error(r, 412, "PRECONDITION")


class _Pusher:
    """An httpx-like client that pushes as admin with a token from the token service."""

    def __init__(self, reg: AccessRegistry, user: str = "admin", password: str | None = None):
        self.reg = reg
        self.auth = basic(user, password or "Admin12345")
        self.tokens: dict[str, str] = {}

    def _headers(self, url: str, kw: dict[str, Any]) -> dict[str, str]:
        repo = url.split("/v2/", 1)[1].rsplit("/blobs/", 1)[0].rsplit("/manifests/", 1)[0]
        if repo not in self.tokens:
            r = self.reg.client.get(
                "/service/token",
                params={"service": "dockyard-registry", "scope": f"repository:{repo}:pull,push"},
                headers=self.auth,
            )
            assert r.status_code == 200, r.text
            self.tokens[repo] = r.json()["token"]
        return {"authorization": f"Bearer {self.tokens[repo]}", **kw.pop("headers", {})}

    def post(self, url: str, **kw: Any) -> Any:
        return self.reg.client.post(url, headers=self._headers(url, kw), **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self.reg.client.put(url, headers=self._headers(url, kw), **kw)


def test_who_may_create_projects(reg: AccessRegistry, tmp_path: Path) -> None:
    reg.user("alice")
    alice = basic("alice", PW)
    check_error(reg.client.post(f"{API}/projects", json={"project_name": "x"}), 401,
                "UNAUTHORIZED")  # fmt: skip
    # a user's storage_limit is ignored: the default (-1) applies
    _create(reg, {"project_name": "mine", "storage_limit": 5}, alice)
    assert reg.access.quotas.get("mine").hard == -1
    mine = check_one(reg.client.get(f"{API}/projects/mine", headers=alice), "Project")
    assert mine["owner_name"] == "alice" and mine["current_user_role_ids"] == [1]
    for bad in (
        {"project_name": "Upper"}, {"project_name": "a" * 256}, {"project_name": "x'; --"},
        {"project_name": "équipe"}, {}, {"project_name": 5}, {"project_name": "p", "public": "yes"},
        {"project_name": "p", "metadata": {"colour": "red"}}, {"project_name": "p", "metadata": 1},
        {"project_name": "p", "metadata": {"retention_id": "7"}},
        {"project_name": "p", "cve_allowlist": {"items": [{"cve_id": "CVE-2019-1"}]}},
    ):  # fmt: skip
        check_error(reg.client.post(f"{API}/projects", json=bad, headers=alice), 400,
                    "BAD_REQUEST")  # fmt: skip
    r = reg.client.post(f"{API}/projects", content=b"[1,2", headers=alice)
    check_error(r, 400, "BAD_REQUEST")
    # only a system administrator may make a proxy cache project (Harbor's 403)
    r = reg.client.post(f"{API}/projects", json={"project_name": "p", "registry_id": 1},
                        headers=alice)  # fmt: skip
    check_error(r, 403, "FORBIDDEN")
    # a project robot may not create projects; a system robot with project:create may
    _, secret = reg.access.create_robot(
        _admin_identity(reg), "proj", level="project", duration=-1,
        permissions=[_perm("project", "mine", ("repository", "pull"))],
    )  # fmt: skip
    r = reg.client.post(f"{API}/projects", json={"project_name": "r1"},
                        headers=basic("robot$mine+proj", secret))  # fmt: skip
    check_error(r, 403, "FORBIDDEN")
    _, secret = reg.access.create_robot(
        _admin_identity(reg), "maker", level="system", duration=-1,
        permissions=[_perm("system", "/", ("project", "create"))],
    )  # fmt: skip
    _create(reg, {"project_name": "by-robot", "storage_limit": 1000},
            basic("robot$maker", secret))  # fmt: skip
    assert reg.access.quotas.get("by-robot").hard == 1000
    # adminonly: only administrators (and system robots)
    with access_registry(tmp_path / "adminonly", creation="adminonly") as strict:
        strict.user("bob")
        r = strict.client.post(f"{API}/projects", json={"project_name": "b"},
                               headers=basic("bob", PW))  # fmt: skip
        assert "administrator" in check_error(r, 403, "FORBIDDEN")
        _create(strict, {"project_name": "b"}, strict.admin)


def _admin_identity(reg: AccessRegistry) -> Any:
    return reg.access.identify(reg.admin["authorization"], client_ip="127.0.0.1")


def _perm(kind: str, namespace: str, *accesses: tuple[str, str]) -> Any:
    from dockyard.registry.access import Access, RobotPermission

    return RobotPermission(kind, namespace, tuple(Access(r, a) for r, a in accesses))  # type: ignore[arg-type]


def test_listing_shows_each_caller_what_it_may_see(reg: AccessRegistry) -> None:
    auth = _team(reg)
    _create(reg, {"project_name": "open", "metadata": {"public": "true"}}, reg.admin)
    _create(reg, {"project_name": "secret"}, reg.admin)

    def names(headers: dict[str, str], **params: Any) -> list[str]:
        r = reg.client.get(f"{API}/projects", params=params, headers=headers)
        return [p["name"] for p in check_list(r, "Project")]

    assert names(reg.admin) == ["open", "secret", "team"]
    assert names(auth["dev"]) == ["open", "team"]
    assert names(auth["outsider"]) == ["open"]
    assert names({}) == ["open"]
    # filters: q= and the plain parameters, as Harbor
    assert names(reg.admin, q="name=~e") == ["open", "secret", "team"]
    assert names(reg.admin, q="name=team") == ["team"]
    assert names(reg.admin, q="name={team open}") == ["open", "team"]
    assert names(reg.admin, name="ecr") == ["secret"]
    assert names(reg.admin, public="true") == ["open"]
    assert names(reg.admin, q="public=false") == ["secret", "team"]
    assert names(reg.admin, owner="owner") == ["team"]
    assert names(auth["dev"], public="false") == ["team"]
    # SQL-looking and unicode filters are only text
    assert names(reg.admin, q="name=x' OR '1'='1") == []
    assert names(reg.admin, name="%") == [] and names(reg.admin, name="équipe") == []
    # with_detail=false leaves the caller's view out; true carries the roles
    r = reg.client.get(f"{API}/projects", params={"with_detail": "false"}, headers=auth["dev"])
    plain = check_list(r, "Project")
    assert all("current_user_role_ids" not in p and "owner_name" not in p for p in plain)
    listed = check_list(reg.client.get(f"{API}/projects", headers=auth["dev"]), "Project")
    team = next(p for p in listed if p["name"] == "team")
    assert team["current_user_role_ids"] == [2]


def test_listing_pages_and_bad_parameters(reg: AccessRegistry) -> None:
    for i in range(12):
        reg.access.projects.create(f"p{i:02d}", owner_id=None)
    seen: list[str] = []
    url = f"{API}/projects?page_size=5"
    for number in (1, 2, 3):
        r = reg.client.get(url, headers=reg.admin)
        seen += [p["name"] for p in check_list(r, "Project")]
        assert r.headers["x-total-count"] == "12"
        if number < 3:
            url = r.headers["link"].split(" , ")[-1][1:].split(">")[0]
            assert url.endswith(f"page={number + 1}&page_size=5")
        else:
            assert r.headers["link"].endswith('rel="prev"')
    assert seen == [f"p{i:02d}" for i in range(12)]
    for params in (
        {"q": "name"},
        {"q": "owner=~a"}, {"q": "colour=red"}, {"sort": "password"}, {"public": "maybe"},
        {"with_detail": "2"}, {"q": "name=" + "a" * 2000},
    ):  # fmt: skip
        check_error(reg.client.get(f"{API}/projects", params=params, headers=reg.admin), 400,
                    "BAD_REQUEST")  # fmt: skip


def test_project_permissions_by_role(reg: AccessRegistry) -> None:
    """Harbor's table through the API: read for every member, update/delete for the project
    admin (and system admins), nothing for outsiders (403) and anonymous callers (401)."""
    auth = _team(reg)
    for who in ("owner", "maint", "dev", "guest", "limited"):
        check_one(reg.client.get(f"{API}/projects/team", headers=auth[who]), "Project")
    check_error(reg.client.get(f"{API}/projects/team", headers=auth["outsider"]), 403,
                "FORBIDDEN")  # fmt: skip
    check_error(reg.client.get(f"{API}/projects/team"), 401, "UNAUTHORIZED")
    # a project that does not exist looks the same to those who may not see it
    check_error(reg.client.get(f"{API}/projects/ghost", headers=auth["outsider"]), 403,
                "FORBIDDEN")  # fmt: skip
    check_error(reg.client.get(f"{API}/projects/ghost"), 401, "UNAUTHORIZED")
    check_error(reg.client.get(f"{API}/projects/ghost", headers=reg.admin), 404, "NOT_FOUND")
    update = {"metadata": {"auto_scan": "true"}}
    for who in ("maint", "dev", "guest", "limited", "outsider"):
        r = reg.client.put(f"{API}/projects/team", json=update, headers=auth[who])
        check_error(r, 403, "FORBIDDEN")
        check_error(reg.client.delete(f"{API}/projects/team", headers=auth[who]), 403,
                    "FORBIDDEN")  # fmt: skip
    check_empty(reg.client.put(f"{API}/projects/team", json=update, headers=auth["owner"]))
    # a public project: anyone reads it, nobody else changes it
    check_empty(reg.client.put(f"{API}/projects/team", json={"metadata": {"public": "true"}},
                               headers=auth["owner"]))  # fmt: skip
    check_one(reg.client.get(f"{API}/projects/team"), "Project")
    check_one(reg.client.get(f"{API}/projects/team", headers=auth["outsider"]), "Project")
    check_error(reg.client.put(f"{API}/projects/team", json=update), 401, "UNAUTHORIZED")
    check_empty(reg.client.delete(f"{API}/projects/team", headers=auth["owner"]))


def test_summary_shows_what_the_caller_may_read(reg: AccessRegistry) -> None:
    auth = _team(reg)
    full = check_one(reg.client.get(f"{API}/projects/team/summary", headers=auth["guest"]),
                     "ProjectSummary")  # fmt: skip
    assert full["repo_count"] == 0
    assert full["quota"] == {"hard": {"storage": -1}, "used": {"storage": 0}}
    assert (full["project_admin_count"], full["maintainer_count"], full["developer_count"],
            full["guest_count"], full["limited_guest_count"]) == (1, 1, 1, 1, 1)  # fmt: skip
    # a limited guest may read the quota but not list members
    limited = check_one(
        reg.client.get(f"{API}/projects/team/summary", headers=auth["limited"]), "ProjectSummary"
    )
    assert "quota" in limited and "guest_count" not in limited
    check_error(reg.client.get(f"{API}/projects/team/summary", headers=auth["outsider"]), 403,
                "FORBIDDEN")  # fmt: skip


def test_metadatas_one_key_at_a_time(reg: AccessRegistry) -> None:
    auth = _team(reg)
    base = f"{API}/projects/team/metadatas"
    # Harbor's table: only project admins and maintainers read metadata; listing it needs
    # metadata:list, which no project role holds (system administrators do)
    check_error(reg.client.get(base + "/", headers=auth["owner"]), 403, "FORBIDDEN")
    r = reg.client.get(base + "/", headers=reg.admin)
    assert r.status_code == 200 and r.json() == {"public": "false"}
    check_empty(reg.client.post(base + "/", json={"auto_scan": "true"}, headers=auth["owner"]))
    r = reg.client.get(base + "/auto_scan", headers=auth["maint"])
    assert r.status_code == 200 and r.json() == {"auto_scan": "true"}
    check_error(reg.client.get(base + "/auto_scan", headers=auth["dev"]), 403, "FORBIDDEN")
    check_empty(reg.client.put(base + "/severity", json={"severity": "Critical"},
                               headers=auth["owner"]))  # fmt: skip
    assert reg.access.projects.get("team").metadata["severity"] == "critical"
    for bad in ({"a": "1", "b": "2"}, {"colour": "red"}, {"auto_scan": "perhaps"}, {}):
        check_error(reg.client.post(base + "/", json=bad, headers=auth["owner"]), 400,
                    "BAD_REQUEST")  # fmt: skip
    check_error(reg.client.put(base + "/severity", json={"other": "x"}, headers=auth["owner"]),
                400, "BAD_REQUEST")  # fmt: skip
    check_error(reg.client.get(base + "/colour", headers=auth["owner"]), 404, "NOT_FOUND")
    check_error(reg.client.delete(base + "/public", headers=auth["owner"]), 400, "BAD_REQUEST")
    check_error(reg.client.delete(base + "/auto_scan", headers=auth["dev"]), 403, "FORBIDDEN")
    check_empty(reg.client.delete(base + "/auto_scan", headers=auth["owner"]))
    assert "auto_scan" not in reg.access.projects.get("team").metadata


def test_members_round_trip_and_who_may_manage_them(reg: AccessRegistry) -> None:
    auth = _team(reg)
    base = f"{API}/projects/team/members"
    r = reg.client.get(base, headers=auth["guest"])
    members = check_list(r, "ProjectMemberEntity")
    assert [(m["entity_name"], m["role_name"]) for m in members] == [
        ("owner", "projectAdmin"), ("maint", "maintainer"), ("dev", "developer"),
        ("guest", "guest"), ("limited", "limitedGuest"),
    ]  # fmt: skip
    r = reg.client.get(base, params={"entityname": "ma", "page_size": 1}, headers=auth["dev"])
    assert [m["entity_name"] for m in check_list(r, "ProjectMemberEntity")] == ["maint"]
    check_error(reg.client.get(base, headers=auth["limited"]), 403, "FORBIDDEN")
    check_error(reg.client.get(base), 401, "UNAUTHORIZED")
    # add by user id; a group by name; the Location names the project as the path did
    outsider = reg.access.users.by_name("outsider").id
    pid = reg.access.projects.get("team").id
    r = reg.client.post(f"{API}/projects/{pid}/members",
                        json={"role_id": 3, "member_user": {"user_id": outsider}},
                        headers=auth["owner"])  # fmt: skip
    mid = int(check_created(r, f"{API}/projects/{pid}/members"))
    member = check_one(reg.client.get(f"{base}/{mid}", headers=auth["dev"]),
                       "ProjectMemberEntity")  # fmt: skip
    assert (member["entity_name"], member["role_id"], member["entity_type"]) == (
        "outsider", 3, "u")  # fmt: skip
    r = reg.client.post(base, json={"role_id": 2, "member_group": {"group_name": "devs",
                                                                   "group_type": 2}},
                        headers=auth["owner"])  # fmt: skip
    gid = int(check_created(r, f"{API}/projects/team/members"))
    assert check_one(reg.client.get(f"{base}/{gid}", headers=auth["owner"]),
                     "ProjectMemberEntity")["entity_type"] == "g"  # fmt: skip
    # the outsider, now a guest, reads the project
    check_one(reg.client.get(f"{API}/projects/team", headers=auth["outsider"]), "Project")
    # change the role; a maintainer may not, nor may the member itself
    check_error(reg.client.put(f"{base}/{mid}", json={"role_id": 1}, headers=auth["maint"]), 403,
                "FORBIDDEN")  # fmt: skip
    check_error(reg.client.put(f"{base}/{mid}", json={"role_id": 1}, headers=auth["outsider"]),
                403, "FORBIDDEN")  # fmt: skip
    check_empty(reg.client.put(f"{base}/{mid}", json={"role_id": 2}, headers=auth["owner"]))
    assert reg.access.members.get(pid, mid).role_name == "developer"
    for role in ({"role_id": 9}, {}, {"role_id": "2"}):
        check_error(reg.client.put(f"{base}/{mid}", json=role, headers=auth["owner"]), 400,
                    "BAD_REQUEST")  # fmt: skip
    for bad in (
        {"role_id": 2}, {"role_id": 2, "member_user": {"username": "outsider"},
                         "member_group": {"group_name": "g"}},
        {"role_id": 2, "member_user": {}}, {"role_id": 2, "member_user": "dev"},
    ):  # fmt: skip
        check_error(reg.client.post(base, json=bad, headers=auth["owner"]), 400, "BAD_REQUEST")
    check_error(reg.client.post(base, json={"role_id": 2, "member_user": {"username": "dev"}},
                                headers=auth["owner"]), 409, "CONFLICT")  # fmt: skip
    check_error(reg.client.post(base, json={"role_id": 2, "member_user": {"username": "nobody"}},
                                headers=auth["owner"]), 404, "NOT_FOUND")  # fmt: skip
    # remove; then the outsider is outside again; an unknown member is 404
    check_error(reg.client.delete(f"{base}/{mid}", headers=auth["dev"]), 403, "FORBIDDEN")
    check_empty(reg.client.delete(f"{base}/{mid}", headers=auth["owner"]))
    check_error(reg.client.get(f"{API}/projects/team", headers=auth["outsider"]), 403,
                "FORBIDDEN")  # fmt: skip
    check_error(reg.client.get(f"{base}/{mid}", headers=auth["owner"]), 404, "NOT_FOUND")
    check_error(reg.client.get(f"{base}/abc", headers=auth["owner"]), 400, "BAD_REQUEST")


def test_project_logs_record_changes(reg: AccessRegistry) -> None:
    auth = _team(reg)
    check_empty(reg.client.put(f"{API}/projects/team", json={"metadata": {"auto_scan": "true"}},
                               headers=auth["owner"]))  # fmt: skip
    r = reg.client.get(f"{API}/projects/team/logs", headers=auth["owner"])
    logs = check_list(r, "AuditLog")
    assert logs[0]["operation"] == "update" and logs[0]["resource_type"] == "project"
    assert {(e["resource_type"], e["operation"]) for e in logs} >= {
        ("project", "create"),
        ("project_member", "create"),
    }
    assert all(e["username"] in ("owner", "admin") for e in logs)
    r = reg.client.get(f"{API}/projects/team/logs", params={"q": "operation=create",
                                                             "sort": "op_time"},
                       headers=auth["owner"])  # fmt: skip
    oldest_first = check_list(r, "AuditLog")
    assert oldest_first[0]["resource_type"] == "project"
    assert all(e["operation"] == "create" for e in oldest_first)
    # log:list is the project admin's only
    check_error(reg.client.get(f"{API}/projects/team/logs", headers=auth["maint"]), 403,
                "FORBIDDEN")  # fmt: skip
    check_error(reg.client.get(f"{API}/projects/team/logs"), 401, "UNAUTHORIZED")
    check_error(reg.client.get(f"{API}/projects/team/logs", params={"q": "op_time=~x"},
                               headers=auth["owner"]), 400, "BAD_REQUEST")  # fmt: skip


def test_repositories_belong_to_projects(reg: AccessRegistry) -> None:
    auth = _team(reg)
    push_image(_Pusher(reg, "dev", PW), "team/app", "v1")
    pid = reg.access.projects.get("team").id
    repo = check_one(reg.client.get(f"{API}/projects/team/repositories/app", headers=auth["guest"]),
                     "Repository")  # fmt: skip
    assert (repo["name"], repo["project_id"]) == ("team/app", pid)
    listed = check_list(reg.client.get(f"{API}/repositories", headers=auth["dev"]), "Repository")
    assert [(r["name"], r["project_id"]) for r in listed] == [("team/app", pid)]
    assert check_list(reg.client.get(f"{API}/repositories", headers=auth["outsider"]),
                      "Repository") == []  # fmt: skip
    check_error(reg.client.get(f"{API}/projects/team/repositories", headers=auth["outsider"]),
                403, "FORBIDDEN")  # fmt: skip
    # an empty project exists now: an empty list, not 404; a project never made: 404
    _create(reg, {"project_name": "empty"}, reg.admin)
    r = reg.client.get(f"{API}/projects/empty/repositories", headers=reg.admin)
    assert check_list(r, "Repository") == []
    check_error(reg.client.get(f"{API}/projects/ghost/repositories", headers=reg.admin), 404,
                "NOT_FOUND")  # fmt: skip
    # artifacts ask the project: a guest reads, may not delete; the developer may not either
    arts = reg.client.get(f"{API}/projects/team/repositories/app/artifacts", headers=auth["guest"])
    [art] = check_list(arts, "Artifact")
    url = f"{API}/projects/team/repositories/app/artifacts/{art['digest']}"
    check_error(reg.client.delete(url, headers=auth["guest"]), 403, "FORBIDDEN")
    check_error(reg.client.delete(url, headers=auth["dev"]), 403, "FORBIDDEN")
    check_empty(reg.client.delete(url, headers=auth["maint"]))
    summary = check_one(reg.client.get(f"{API}/projects/team/summary", headers=auth["owner"]),
                        "ProjectSummary")  # fmt: skip
    assert summary["repo_count"] == 1


def test_without_the_access_model_the_endpoints_say_so(tmp_path: Path) -> None:
    from _infra.registry_server import ASGIClient
    from dockyard.registry._server import build_app
    from dockyard.registry.config import load

    env = {
        **backend.serve_env(tmp_path, {}),
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(tmp_path),
    }
    app = build_app(load(None, env), access_log=False)
    with ASGIClient(app) as client:
        for path in ("/projects", "/users/current", "/robots", "/quotas", "/audit-logs"):
            msg = check_error(client.get(API + path), 412, "PRECONDITION")
            assert "access model" in msg
        doc = client.get(f"{API}/swagger.json").json()
        validate(doc["definitions"]["Project"], {"type": "object"})
    app.registry.close()
