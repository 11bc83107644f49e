"""``/api/v2.0/quotas`` and ``/api/v2.0/audit-logs`` over the access model, through the real
app: system-level quota management and the audit log as each kind of caller sees it, with
Harbor's filters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from _infra.harbor_api import (
    AccessRegistry,
    access_registry,
    basic,
    check_empty,
    check_error,
    check_list,
    check_one,
)

API = "/api/v2.0"
PW = "Passw0rd1"


@pytest.fixture
def reg(tmp_path: Path) -> Iterator[AccessRegistry]:
    with access_registry(tmp_path) as r:
        r.user("owner")
        r.user("outsider")
        owner = r.access.identify(basic("owner", PW)["authorization"], client_ip="10.0.0.1")
        r.access.create_project(owner, "team", client_ip="10.0.0.1")
        r.access.create_project(owner, "other", client_ip="10.0.0.1")
        yield r


def test_quotas_list_read_and_update(reg: AccessRegistry) -> None:
    r = reg.client.get(f"{API}/quotas", headers=reg.admin)
    quotas = check_list(r, "Quota")
    assert [(q["ref"]["name"], q["hard"], q["used"]) for q in quotas] == [
        ("team", {"storage": -1}, {"storage": 0}), ("other", {"storage": -1}, {"storage": 0})
    ]  # fmt: skip
    team = reg.access.projects.get("team")
    assert quotas[0]["id"] == quotas[0]["ref"]["id"] == team.id
    assert quotas[0]["ref"]["owner_name"] == "owner"
    r = reg.client.get(f"{API}/quotas", params={"reference": "project",
                                                "reference_id": str(team.id)},
                       headers=reg.admin)  # fmt: skip
    assert [q["ref"]["name"] for q in check_list(r, "Quota")] == ["team"]
    r = reg.client.get(f"{API}/quotas", params={"reference": "registry"}, headers=reg.admin)
    assert check_list(r, "Quota") == [] and r.headers["x-total-count"] == "0"
    r = reg.client.get(f"{API}/quotas", params={"reference_id": "424242"}, headers=reg.admin)
    assert check_list(r, "Quota") == []
    check_empty(reg.client.put(f"{API}/quotas/{team.id}", json={"hard": {"storage": 1 << 20}},
                               headers=reg.admin))  # fmt: skip
    quota = check_one(reg.client.get(f"{API}/quotas/{team.id}", headers=reg.admin), "Quota")
    assert quota["hard"] == {"storage": 1 << 20}
    assert reg.access.quotas.get("team").hard == 1 << 20
    bad: dict[str, Any]
    for bad in (
        {"hard": {"storage": 0}},
        {"hard": {"storage": -5}},
        {"hard": {"count": 3}},
        {"hard": {}},
        {},
        {"hard": {"storage": "lots"}},
        {"hard": {"storage": 2**70}},
    ):
        check_error(reg.client.put(f"{API}/quotas/{team.id}", json=bad, headers=reg.admin), 400,
                    "BAD_REQUEST")  # fmt: skip
    check_error(reg.client.get(f"{API}/quotas/424242", headers=reg.admin), 404, "NOT_FOUND")
    check_error(reg.client.get(f"{API}/quotas", params={"reference_id": "x"}, headers=reg.admin),
                400, "BAD_REQUEST")  # fmt: skip


def test_quotas_are_the_systems(reg: AccessRegistry) -> None:
    """Project admins read their quota in the summary, but /quotas is for the system's quota
    accesses only (admins, system robots holding them)."""
    team = reg.access.projects.get("team").id
    owner = basic("owner", PW)
    for method, path, body in (("GET", "/quotas", None), ("GET", f"/quotas/{team}", None),
                               ("PUT", f"/quotas/{team}", {"hard": {"storage": 1}})):  # fmt: skip
        check_error(reg.client.request(method, API + path, json=body, headers=owner), 403,
                    "FORBIDDEN")  # fmt: skip
        check_error(reg.client.request(method, API + path, json=body), 401, "UNAUTHORIZED")
    admin = reg.access.identify(reg.admin["authorization"], client_ip="")
    from dockyard.registry.access import Access, RobotPermission

    _, secret = reg.access.create_robot(
        admin, "quota-reader", level="system", duration=-1,
        permissions=[RobotPermission("system", "/", (Access("quota", "read"),
                                                     Access("quota", "list")))],
    )  # fmt: skip
    robot = basic("robot$quota-reader", secret)
    check_one(reg.client.get(f"{API}/quotas/{team}", headers=robot), "Quota")
    check_error(reg.client.put(f"{API}/quotas/{team}", json={"hard": {"storage": 1}},
                               headers=robot), 403, "FORBIDDEN")  # fmt: skip


def test_audit_logs_filters_and_visibility(reg: AccessRegistry) -> None:
    owner, outsider = basic("owner", PW), basic("outsider", PW)
    reg.access.audit.record("push", "artifact", "team/app:v1", "owner", "team", "10.0.0.2")
    reg.access.audit.record("pull", "artifact", "other/db:v2", "someone", "other", "10.0.0.3")
    reg.access.audit.record("delete", "artifact", "team/app:v0", "owner", "team", "10.0.0.2")

    def ops(headers: dict[str, str], **params: str) -> list[tuple[str, str]]:
        r = reg.client.get(f"{API}/audit-logs", params=params, headers=headers)
        return [(e["operation"], e["resource"]) for e in check_list(r, "AuditLog")]

    everything = ops(reg.admin, page_size="100")
    assert ops(reg.admin, q="resource_type=artifact") == [
        ("delete", "team/app:v0"), ("pull", "other/db:v2"), ("push", "team/app:v1")
    ]  # fmt: skip
    assert ("login", "admin") in everything and ("create", "team") in everything
    assert ops(reg.admin, q="operation=push") == [("push", "team/app:v1")]
    assert ops(reg.admin, q="operation={push pull}") == [("pull", "other/db:v2"),
                                                         ("push", "team/app:v1")]  # fmt: skip
    assert ops(reg.admin, q="resource=~team/app,resource_type=artifact") == [
        ("delete", "team/app:v0"), ("push", "team/app:v1")]  # fmt: skip
    assert ops(reg.admin, q="username=someone") == [("pull", "other/db:v2")]
    assert ops(reg.admin, q="resource=~%") == [] and ops(reg.admin, q="username=x' OR '1'='1") == []
    assert ops(reg.admin, q="resource_type=artifact", sort="op_time")[0] == ("push", "team/app:v1")
    future = datetime(2100, 1, 1, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert ops(reg.admin, q=f"op_time=[{future}~]") == []
    assert len(ops(reg.admin, q=f"op_time=[~{future}],resource_type=artifact")) == 3
    # a project admin reads its projects' logs; an outsider none; anonymous nobody
    mine = ops(owner, page_size="100")
    assert sorted(mine) == sorted([
        ("delete", "team/app:v0"), ("pull", "other/db:v2"), ("push", "team/app:v1"),
        ("create", "team"), ("create", "other"),
    ])  # fmt: skip
    reg.user("dev")
    team = reg.access.projects.get("team")
    reg.access.members.add(team.id, entity_type="u",
                           entity_id=reg.access.users.by_name("dev").id, role_id=2)  # fmt: skip
    assert ops(basic("dev", PW)) == []  # a developer may not list the project's log
    assert ops(outsider) == []
    check_error(reg.client.get(f"{API}/audit-logs"), 401, "UNAUTHORIZED")
    for params in ({"q": "op_time=yesterday"}, {"q": "password=x"}, {"sort": "username"},
                   {"q": "op_time=[a~b]"}):  # fmt: skip
        check_error(reg.client.get(f"{API}/audit-logs", params=params, headers=reg.admin), 400,
                    "BAD_REQUEST")  # fmt: skip


def test_audit_logs_page_with_links(reg: AccessRegistry) -> None:
    for i in range(7):
        reg.access.audit.record("push", "artifact", f"team/app:v{i}", "owner", "team")
    r = reg.client.get(f"{API}/audit-logs", params={"q": "operation=push", "page_size": "3",
                                                    "page": "2"}, headers=reg.admin)  # fmt: skip
    page = check_list(r, "AuditLog")
    assert [e["resource"] for e in page] == ["team/app:v3", "team/app:v2", "team/app:v1"]
    assert r.headers["x-total-count"] == "7"
    assert 'rel="prev"' in r.headers["link"] and 'rel="next"' in r.headers["link"]
