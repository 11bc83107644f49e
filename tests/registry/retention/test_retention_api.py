"""``/api/v2.0/retentions…`` through the projects-mode app: Harbor's shapes (every answer
validated against Harbor's definitions), the project's ``retention_id`` link, Harbor's
refusals, the ``tag-retention`` permissions by role, executions with their tasks and logs,
and stopping a running execution."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from _infra.harbor_api import ADMIN_PASSWORD as HARBOR_ADMIN_PASSWORD
from _infra.harbor_api import (
    access_registry,
    check_created,
    check_empty,
    check_error,
    check_list,
    harbor_definitions,
    validate,
)
from _infra.projects_registry import PASSWORD, basic, team_with_people, wait_for
from _infra.retention import API, Served, serve_projects, wait_execution
from dockyard.registry._push_guard import GuardChain
from dockyard.registry.access import Role


def _definitions() -> dict[str, Any]:
    """Harbor's definitions, but ``RetentionRule.params`` as go-swagger reads it: its
    ``additionalProperties: {type: object}`` becomes ``map[string]interface{}`` in Harbor's
    server, so Harbor itself answers ``{"latestPushedK": 10}`` there."""
    defs = copy.deepcopy(harbor_definitions())
    defs["RetentionRule"]["properties"]["params"]["additionalProperties"] = {}
    return defs


def _one(response: Any, definition: str) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    validate(body, {"$ref": f"#/definitions/{definition}"}, _definitions())
    return body


def _rule(template: str, value: int | None, pattern: str = "**") -> dict[str, Any]:
    sel = {"kind": "doublestar", "decoration": "matches", "pattern": pattern,
           "extras": '{"untagged":false}'}  # fmt: skip
    repo = {"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}
    return {"template": template, "params": {} if value is None else {template: value},
            "action": "retain", "tag_selectors": [sel], "scope_selectors": {"repository": [repo]}}  # fmt: skip


def _body(project_id: int, *rules: dict[str, Any], cron: str = "") -> dict[str, Any]:
    return {"algorithm": "or", "rules": list(rules),
            "trigger": {"kind": "Schedule", "settings": {"cron": cron}},
            "scope": {"level": "project", "ref": project_id}}  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_projects(tmp_path_factory.mktemp("retention-api")) as s:
        admin = team_with_people(s.access)
        s.access.users.create("keeper", PASSWORD)
        s.access.add_member(admin, "team", role_id=int(Role.MAINTAINER), username="keeper")
        s.access.users.create("outsider", PASSWORD)
        s.access.create_project(admin, "other")
        for repo in ("a", "b"):
            for n in range(2):
                s.push(f"team/{repo}", f"v{n}", seed=f"{repo}{n}")
        yield s


def _team(served: Served) -> int:
    return int(served.access.projects.get("team").id)


def test_metadatas_are_harbors(served: Served) -> None:
    check_error(served.client.get(f"{API}/retentions/metadatas"), 401, "UNAUTHORIZED")
    meta = _one(served.client.get(f"{API}/retentions/metadatas", headers=basic("guest",
                                                                               PASSWORD)),
                "RetentionMetadata")  # fmt: skip
    assert [t["rule_template"] for t in meta["templates"]] == [
        "latestPushedK", "latestPulledN", "nDaysSinceLastPush", "nDaysSinceLastPull", "always"
    ]  # fmt: skip
    assert meta["tag_selectors"][0]["decorations"] == ["matches", "excludes"]
    assert meta["scope_selectors"][0]["decorations"] == ["repoMatches", "repoExcludes"]


def test_policy_crud_and_the_projects_link(served: Served) -> None:
    h = served.headers
    other = int(served.access.projects.get("other").id)
    body = _body(other, _rule("latestPushedK", 5), cron="0 0 0 * * *")
    pid = check_created(served.client.post(f"{API}/retentions", json=body, headers=h),
                        f"{API}/retentions")  # fmt: skip
    got = _one(served.client.get(f"{API}/retentions/{pid}", headers=h), "RetentionPolicy")
    assert got["id"] == int(pid) and got["scope"] == {"level": "project", "ref": other}
    assert got["rules"][0]["params"] == {"latestPushedK": 5}
    assert got["trigger"]["settings"] == {"cron": "0 0 0 * * *"}
    meta = served.client.get(f"{API}/projects/{other}/metadatas/retention_id", headers=h)
    assert meta.json() == {"retention_id": pid}
    # one policy per project, as Harbor
    message = check_error(served.client.post(f"{API}/retentions", json=body, headers=h),
                          400, "BAD_REQUEST")  # fmt: skip
    assert f"already has retention policy {pid}" in message
    body["rules"].append(_rule("always", None, "prod"))
    check_empty(served.client.put(f"{API}/retentions/{pid}", json=body, headers=h))
    got = _one(served.client.get(f"{API}/retentions/{pid}", headers=h), "RetentionPolicy")
    assert [r["template"] for r in got["rules"]] == ["latestPushedK", "always"]
    for wrong, status, code in [
        ({**body, "rules": [_rule("latestPushedK", None)]}, 400, "BAD_REQUEST"),
        ({**body, "rules": [_rule("nope", 1)]}, 400, "BAD_REQUEST"),
        ({**body, "scope": {"level": "project", "ref": 4242}}, 400, "BAD_REQUEST"),
    ]:
        check_error(served.client.post(f"{API}/retentions", json=wrong, headers=h), status, code)
    check_error(served.client.put(f"{API}/retentions/{pid}", json={**body, "rules": [
        _rule("latestPushedK", -1)]}, headers=h), 400, "BAD_REQUEST")  # fmt: skip
    check_empty(served.client.delete(f"{API}/retentions/{pid}", headers=h))
    assert served.client.get(f"{API}/projects/{other}/metadatas/retention_id",
                             headers=h).json() == {}  # fmt: skip
    check_error(served.client.get(f"{API}/retentions/{pid}", headers=h), 404, "NOT_FOUND")


def test_tag_retention_permissions_by_role(served: Served) -> None:
    team = _team(served)
    body = _body(team, _rule("always", None))
    pid = check_created(served.client.post(f"{API}/retentions", json=body,
                                           headers=basic("keeper", PASSWORD)),
                        f"{API}/retentions")  # fmt: skip
    try:
        for who, allowed in (("keeper", True), ("dev", True), ("guest", False),
                             ("outsider", False)):  # fmt: skip
            h = basic(who, PASSWORD)
            r = served.client.get(f"{API}/retentions/{pid}", headers=h)
            if allowed:
                _one(r, "RetentionPolicy")
                check_list(served.client.get(f"{API}/retentions/{pid}/executions", headers=h),
                           "RetentionExecution")  # fmt: skip
            else:
                check_error(r, 403, "FORBIDDEN")
                for method, path, json in (
                    ("PUT", f"/retentions/{pid}", body),
                    ("POST", f"/retentions/{pid}/executions", {"dry_run": True}),
                    ("GET", f"/retentions/{pid}/executions", None),
                    ("DELETE", f"/retentions/{pid}", None),
                ):
                    r = served.client.request(method, API + path, json=json, headers=h)
                    check_error(r, 403, "FORBIDDEN")
        check_error(served.client.get(f"{API}/retentions/{pid}"), 401, "UNAUTHORIZED")
        r = served.client.post(f"{API}/retentions", json=body, headers=basic("guest", PASSWORD))
        check_error(r, 403, "FORBIDDEN")
    finally:
        check_empty(served.client.delete(f"{API}/retentions/{pid}", headers=served.headers))


class _Gate:
    """A guard holding the first delete it is asked about until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def check_manifest(self, *args: Any) -> object:
        return None

    def pushed_manifest(self, *args: Any) -> None:
        return None

    def check_blob(self, *args: Any) -> None:
        return None

    def check_delete(self, repository: str, reference: str) -> None:
        self.entered.set()
        assert self.release.wait(30)

    def deleted(self, repository: str) -> None:
        return None


def test_executions_tasks_logs_and_stop(served: Served) -> None:
    h = served.headers
    body = _body(_team(served), _rule("latestPushedK", 1))
    pid = check_created(served.client.post(f"{API}/retentions", json=body, headers=h),
                        f"{API}/retentions")  # fmt: skip
    base = f"{API}/retentions/{pid}/executions"
    try:
        # a dry run: one task per repository, Harbor's log table
        eid = check_created(served.client.post(base, json={"dry_run": True}, headers=h), base)
        execution = wait_execution(served.client, h, f"{base}/{eid}")
        assert execution["status"] == "Success" and execution["trigger"] == "MANUAL"
        tasks = check_list(served.client.get(f"{base}/{eid}/tasks", headers=h),
                           "RetentionExecutionTask")  # fmt: skip
        assert [(t["repository"], t["total"], t["retained"], t["status"]) for t in tasks] == [
            ("team/a", 2, 1, "Success"), ("team/b", 2, 1, "Success")
        ]  # fmt: skip
        log = served.client.get(f"{base}/{eid}/tasks/{tasks[0]['id']}", headers=h).text
        header = [c.strip() for c in log.splitlines()[0].strip("|").split("|")]
        assert header == ["Digest", "Tag", "Kind", "Labels", "PushedTime", "PulledTime",
                          "Retention"]  # fmt: skip
        assert sorted(line.split("|")[-2].strip() for line in log.splitlines()[2:]) == [
            "DEL", "RETAIN"]  # fmt: skip
        check_error(served.client.get(f"{base}/{eid}/tasks/999999", headers=h), 404, "NOT_FOUND")
        check_error(served.client.patch(f"{base}/{eid}", json={"action": "stop"}, headers=h),
                    412, "PRECONDITION")  # fmt: skip
        check_error(served.client.patch(f"{base}/{eid}", json={"action": "go"}, headers=h),
                    400, "BAD_REQUEST")  # fmt: skip
        check_error(served.client.post(base, json={"dry_run": "yes"}, headers=h),
                    400, "BAD_REQUEST")  # fmt: skip

        # a real run held at its first delete, stopped: the second repository is not touched
        gate = _Gate()
        registry = served.app.registry
        before = registry.guard
        registry.guard = GuardChain([*(before.guards if isinstance(before, GuardChain) else ()),
                                     gate])  # fmt: skip
        try:
            eid = check_created(served.client.post(base, json={"dry_run": False}, headers=h),
                                base)  # fmt: skip
            assert gate.entered.wait(30)
            running = check_list(served.client.get(base, headers=h), "RetentionExecution")[0]
            assert running["status"] == "Running" and running["end_time"] == ""
            check_empty(served.client.patch(f"{base}/{eid}", json={"action": "stop"}, headers=h))
            gate.release.set()
            execution = wait_execution(served.client, h, f"{base}/{eid}")
        finally:
            registry.guard = before
        assert execution["status"] == "Stopped"
        tasks = check_list(served.client.get(f"{base}/{eid}/tasks", headers=h),
                           "RetentionExecutionTask")  # fmt: skip
        assert [t["repository"] for t in tasks] == ["team/a"]
        assert served.admin.get("/v2/team/b/tags/list").json()["tags"] == ["v0", "v1"]
        wait_for(lambda: served.admin.get("/v2/team/a/tags/list").json()["tags"] == ["v1"])
    finally:
        check_empty(served.client.delete(f"{API}/retentions/{pid}", headers=h))


def test_an_api_without_the_servers_wiring_runs_a_service_of_its_own(tmp_path: Any) -> None:
    """HarborApi over an access model alone (no ``auth: projects`` server): the retention
    endpoints make their service on first use."""
    with access_registry(tmp_path) as reg:
        admin = reg.access.authenticate("admin", HARBOR_ADMIN_PASSWORD, client_ip="127.0.0.1")
        project = reg.access.create_project(admin, "team")
        body = _body(int(project.id), _rule("always", None))
        pid = check_created(reg.client.post(f"{API}/retentions", json=body, headers=reg.admin),
                            f"{API}/retentions")  # fmt: skip
        base = f"{API}/retentions/{pid}/executions"
        eid = check_created(reg.client.post(base, json={"dry_run": True}, headers=reg.admin),
                            base)  # fmt: skip
        execution = wait_execution(reg.client, reg.admin, f"{base}/{eid}")
        assert execution["status"] == "Success"
        assert check_list(reg.client.get(f"{base}/{eid}/tasks", headers=reg.admin),
                          "RetentionExecutionTask") == []  # fmt: skip
