"""``/api/v2.0/robots`` over the access model, through the real app: system and project robots
made, listed, read, changed, disabled, refreshed and deleted by whoever Harbor's table lets;
a refreshed secret stops working at once, for the API and for the token service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
SERVICE = "dockyard-registry"


@pytest.fixture
def reg(tmp_path: Path) -> Iterator[AccessRegistry]:
    with access_registry(tmp_path) as r:
        for name in ("owner", "dev"):
            r.user(name)
        project = r.access.projects.create("team", owner_id=r.access.users.by_name("owner").id)
        r.access.members.add(project.id, entity_type="u",
                             entity_id=r.access.users.by_name("dev").id, role_id=2)  # fmt: skip
        yield r


def _robot(level: str, namespace: str, *accesses: tuple[str, str], **extra: Any) -> dict[str, Any]:
    kind = "system" if namespace == "/" else "project"
    return {
        "name": extra.pop("name", "ci"), "level": level, "duration": extra.pop("duration", -1),
        "description": "builds", "permissions": [{"kind": kind, "namespace": namespace,
        "access": [{"resource": r, "action": a} for r, a in accesses]}], **extra,
    }  # fmt: skip


def _create(reg: AccessRegistry, body: dict[str, Any], auth: dict[str, str]) -> dict[str, Any]:
    r = reg.client.post(f"{API}/robots", json=body, headers=auth)
    created = check_one(r, "RobotCreated", 201)
    assert check_created(r, f"{API}/robots") == str(created["id"])
    return dict(created)


def _token(reg: AccessRegistry, auth: dict[str, str], scope: str) -> Any:
    return reg.client.get("/service/token", params={"service": SERVICE, "scope": scope},
                          headers=auth)  # fmt: skip


@pytest.mark.slow
def test_project_robot_round_trip_and_secret_refresh(reg: AccessRegistry) -> None:
    owner = basic("owner", PW)
    body = _robot("project", "team", ("repository", "pull"), ("repository", "push"))
    created = _create(reg, body, owner)
    assert created["name"] == "robot$team+ci" and created["expires_at"] == -1
    rid, secret = created["id"], created["secret"]
    robot = check_one(reg.client.get(f"{API}/robots/{rid}", headers=owner), "Robot")
    assert (robot["level"], robot["disable"], robot["editable"]) == ("project", False, True)
    assert "secret" not in robot
    assert robot["permissions"][0]["namespace"] == "team"
    # its secret works for the API (a robot has no user profile: 412) and the token service
    auth = basic("robot$team+ci", secret)
    check_error(reg.client.get(f"{API}/users/current", headers=auth), 412, "PRECONDITION")
    r = _token(reg, auth, "repository:team/app:pull,push")
    assert r.status_code == 200, r.text
    # refresh: the new secret answered once; the old one stops working everywhere at once
    refreshed = check_one(reg.client.patch(f"{API}/robots/{rid}", json={}, headers=owner),
                          "RobotSec")  # fmt: skip
    new = refreshed["secret"]
    assert new and new != secret
    check_error(reg.client.get(f"{API}/users/current", headers=auth), 401, "UNAUTHORIZED")
    assert _token(reg, auth, "repository:team/app:pull").status_code == 401
    fresh = basic("robot$team+ci", new)
    check_error(reg.client.get(f"{API}/users/current", headers=fresh), 412, "PRECONDITION")
    assert _token(reg, fresh, "repository:team/app:pull").status_code == 200
    # a chosen secret is not echoed
    r = reg.client.patch(f"{API}/robots/{rid}", json={"secret": "Chosen123"}, headers=owner)
    assert check_one(r, "RobotSec") == {}
    assert _token(reg, basic("robot$team+ci", "Chosen123"), "").status_code == 200
    check_error(reg.client.patch(f"{API}/robots/{rid}", json={"secret": "weak"}, headers=owner),
                400, "BAD_REQUEST")  # fmt: skip
    # update: description, disable, duration, permissions; never the name or level
    update = {**body, "name": "robot$team+ci", "disable": True, "duration": 30,
              "description": "paused"}  # fmt: skip
    check_empty(reg.client.put(f"{API}/robots/{rid}", json=update, headers=owner))
    robot = check_one(reg.client.get(f"{API}/robots/{rid}", headers=owner), "Robot")
    assert (robot["disable"], robot["duration"], robot["description"]) == (True, 30, "paused")
    assert robot["expires_at"] > 0
    assert _token(reg, basic("robot$team+ci", "Chosen123"), "").status_code == 401
    for bad in ({**update, "name": "other"}, {**update, "level": "system"},
                {**update, "permissions": []}, {**update, "duration": 0}):  # fmt: skip
        check_error(reg.client.put(f"{API}/robots/{rid}", json=bad, headers=owner), 400,
                    "BAD_REQUEST")  # fmt: skip
    # listing the project's robots; then delete
    pid = reg.access.projects.get("team").id
    r = reg.client.get(f"{API}/robots", params={"q": f"Level=project,ProjectID={pid}"},
                       headers=owner)  # fmt: skip
    assert [x["name"] for x in check_list(r, "Robot")] == ["robot$team+ci"]
    check_empty(reg.client.delete(f"{API}/robots/{rid}", headers=owner))
    check_error(reg.client.get(f"{API}/robots/{rid}", headers=owner), 404, "NOT_FOUND")


def test_who_may_manage_robots(reg: AccessRegistry) -> None:
    owner, dev = basic("owner", PW), basic("dev", PW)
    body = _robot("project", "team", ("repository", "pull"))
    # a developer reads and lists the project's robots, but may not make or change them
    check_error(reg.client.post(f"{API}/robots", json=body, headers=dev), 403, "FORBIDDEN")
    check_error(reg.client.post(f"{API}/robots", json=body), 401, "UNAUTHORIZED")
    rid = _create(reg, body, owner)["id"]
    check_one(reg.client.get(f"{API}/robots/{rid}", headers=dev), "Robot")
    check_error(reg.client.get(f"{API}/robots/{rid}"), 401, "UNAUTHORIZED")
    check_error(reg.client.patch(f"{API}/robots/{rid}", json={}, headers=dev), 403, "FORBIDDEN")
    check_error(reg.client.delete(f"{API}/robots/{rid}", headers=dev), 403, "FORBIDDEN")
    # system robots are the system's: users may not list or make them
    system = _robot("system", "/", ("project", "create"), name="sys")
    check_error(reg.client.post(f"{API}/robots", json=system, headers=owner), 403, "FORBIDDEN")
    check_error(reg.client.get(f"{API}/robots", headers=owner), 403, "FORBIDDEN")
    created = _create(reg, system, reg.admin)
    r = reg.client.get(f"{API}/robots", params={"q": "Level=system"}, headers=reg.admin)
    assert [x["name"] for x in check_list(r, "Robot")] == ["robot$sys"]
    check_error(reg.client.get(f"{API}/robots/{created['id']}", headers=owner), 403, "FORBIDDEN")
    # someone else's project: 403, whether it exists or not; the admin learns 404
    other = _robot("project", "ghost", ("repository", "pull"))
    check_error(reg.client.post(f"{API}/robots", json=other, headers=owner), 403, "FORBIDDEN")
    check_error(reg.client.post(f"{API}/robots", json=other, headers=reg.admin), 404,
                "NOT_FOUND")  # fmt: skip


def test_robot_requests_harbor_refuses(reg: AccessRegistry) -> None:
    owner = basic("owner", PW)
    good = _robot("project", "team", ("repository", "pull"))
    two = {**good, "permissions": good["permissions"] * 2}
    for bad in (
        {**good, "name": "Bad+Name"}, {**good, "name": "x'; drop"}, {**good, "name": "ünï"},
        {**good, "duration": 0}, {**good, "duration": -2}, {**good, "level": "galaxy"},
        {**good, "permissions": []}, {**good, "permissions": [{"kind": "project",
                                                               "namespace": "team"}]},
        _robot("project", "team", ("repository", "fly")),
        _robot("project", "team", ("user", "create")),
        {**good, "permissions": [{**good["permissions"][0], "kind": "planet"}]},
        {**good, "disable": "no"}, two,
    ):  # fmt: skip
        check_error(reg.client.post(f"{API}/robots", json=bad, headers=owner), 400,
                    "BAD_REQUEST")  # fmt: skip
    _create(reg, good, owner)
    check_error(reg.client.post(f"{API}/robots", json=good, headers=owner), 409, "CONFLICT")
    for params in ({"q": "Level=project"}, {"q": "Level=project,ProjectID=0"},
                   {"q": "Level=project,ProjectID=x"}, {"q": "Level=moon"},
                   {"q": "colour=red"}):  # fmt: skip
        check_error(reg.client.get(f"{API}/robots", params=params, headers=reg.admin), 400,
                    "BAD_REQUEST")  # fmt: skip


def test_a_robot_makes_robots_only_within_its_own_permissions(reg: AccessRegistry) -> None:
    maker = _robot("system", "/", ("robot", "create"), ("project", "create"), name="maker")
    maker["permissions"].append(
        {
            "kind": "project",
            "namespace": "team",
            "access": [
                {"resource": "repository", "action": "pull"},
                {"resource": "robot", "action": "create"},
            ],
        }
    )
    secret = _create(reg, maker, reg.admin)["secret"]
    auth = basic("robot$maker", secret)
    ok = _robot("system", "/", ("project", "create"), name="child")
    assert _create(reg, ok, auth)["name"] == "robot$child"
    wider = _robot("system", "/", ("user", "create"), name="wider")
    check_error(reg.client.post(f"{API}/robots", json=wider, headers=auth), 403, "FORBIDDEN")
    push = _robot("project", "team", ("repository", "push"), name="pusher")
    check_error(reg.client.post(f"{API}/robots", json=push, headers=auth), 403, "FORBIDDEN")
    pull = _robot("project", "team", ("repository", "pull"), name="puller")
    assert _create(reg, pull, auth)["name"] == "robot$team+puller"


def test_robot_changes_are_audited(reg: AccessRegistry) -> None:
    created = _create(reg, _robot("project", "team", ("repository", "pull")), basic("owner", PW))
    reg.client.patch(f"{API}/robots/{created['id']}", json={}, headers=basic("owner", PW))
    r = reg.client.get(f"{API}/audit-logs", params={"q": "resource_type=robot"}, headers=reg.admin)
    logs = check_list(r, "AuditLog")
    assert [(e["operation"], e["resource"], e["username"]) for e in logs] == [
        ("update", "robot$team+ci", "owner"),
        ("create", "robot$team+ci", "owner"),
    ]
