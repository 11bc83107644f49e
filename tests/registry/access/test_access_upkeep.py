"""The access model's upkeep in a running ``auth: projects`` registry: the audit log's retention
and row limit applied without anyone asking, one ``login`` entry per login (not per API call),
and quota bytes given back after deletes made through ``/api/v2.0``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from _infra import backend
from _infra.access import Clock, access_database, access_service
from _infra.harbor_api import access_registry
from _infra.projects_registry import (
    ADMIN_PASSWORD,
    PASSWORD,
    SERVICE,
    audit_entries,
    basic,
    projects_config,
    team_with_people,
    wait_for,
)
from _infra.registry_server import ASGIClient, AuthedClient, push_image
from dockyard.registry import RegistryApp
from dockyard.registry._maintenance import AuditUpkeep
from dockyard.registry._projects_mode import open_access
from dockyard.registry._server import build_app
from dockyard.registry.access import AccessConfig, AccessService, AuditQuery

API = "/api/v2.0"


@dataclass
class Served:
    app: RegistryApp
    client: ASGIClient
    access: AccessService


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    config = projects_config(tmp_path / "data")
    app = build_app(config, access_log=False)
    assert config.access is not None
    access = open_access(config.access, app.registry.meta.db)
    with ASGIClient(app) as client:
        yield Served(app, client, access)
    for stop in app.on_shutdown:
        stop()
    app.registry.close()


def _count(access: AccessService) -> int:
    return access.audit.query(page_size=1).total


# --- 1. audit retention and maxrows ---------------------------------------------------------


def _old_and_new(access: AccessService, *, old: int, new: int, age: float) -> None:
    """``old`` entries ``age`` seconds old (resource ``old-i``), ``new`` of now (``new-i``)."""
    now = time.time()
    access.audit.record_many(
        [
            {"operation": "pull", "resource_type": "artifact", "resource": f"old-{i}",
             "username": "dev", "op_time": now - age - i}
            for i in range(old)
        ]
        + [
            {"operation": "pull", "resource_type": "artifact", "resource": f"new-{i}",
             "username": "dev", "op_time": now}
            for i in range(new)
        ]
    )  # fmt: skip


def test_a_starting_registry_applies_retention_and_maxrows(tmp_path: Path) -> None:
    root = tmp_path / "data"
    env = {
        "REGISTRY_AUTH_PROJECTS_AUDIT_RETENTION": "24h",
        "REGISTRY_AUTH_PROJECTS_AUDIT_MAXROWS": "30",
    }
    config = projects_config(root, **env)
    assert config.access is not None
    # entries written while the registry was down, under a larger limit: 40 older than the
    # retention, 45 recent (15 more than maxrows allows)
    registry = backend.open_registry(root)
    try:
        roomy = open_access(AccessConfig(audit_max_rows=1000), registry.meta.db)
        _old_and_new(roomy, old=40, new=45, age=2 * 86400)
        assert _count(roomy) == 85
    finally:
        registry.close()

    app = build_app(config, access_log=False)
    try:
        access = open_access(config.access, app.registry.meta.db)
        wait_for(lambda: _count(access) == 30)
        kept = audit_entries(access, operation="pull")
        assert all(e.resource.startswith("new-") for e in kept)
        # the newest rows are the ones kept: the first 15 recent ones went for maxrows
        assert {e.resource for e in kept} == {f"new-{i}" for i in range(15, 45)}
    finally:
        for stop in app.on_shutdown:
            stop()
        app.registry.close()


def test_each_run_does_bounded_work_and_catches_up(tmp_path: Path) -> None:
    db = access_database(tmp_path)
    clock = Clock()
    try:
        access = access_service(db, clock, audit_max_rows=1000)
        stale = [
            {"operation": "pull", "resource_type": "artifact", "resource": f"old-{i}",
             "username": "dev", "op_time": clock.now - 100 * 86400}
            for i in range(25)
        ]  # fmt: skip
        access.audit.record_many(stale)
        access.audit.record("pull", "artifact", "fresh", "dev")
        upkeep = AuditUpkeep(access.purge_audit, interval=3600.0, batch=10, batches=2)
        first = upkeep.run_once()
        assert first.deleted == 20 and first.more  # 2 batches of 10, then it stops for now
        assert _count(access) == 6
        second = upkeep.run_once()
        assert second.deleted == 5 and not second.more
        assert [e.resource for e in access.audit.query().items] == ["fresh"]
        assert upkeep.run_once().deleted == 0
    finally:
        db.close()


def test_retention_off_keeps_old_entries_but_maxrows_still_holds(tmp_path: Path) -> None:
    db = access_database(tmp_path)
    clock = Clock()
    try:
        roomy = access_service(db, clock, audit_max_rows=1000)
        roomy.audit.record_many(
            [
                {"operation": "pull", "resource_type": "artifact", "resource": f"r-{i}",
                 "username": "dev", "op_time": clock.now - 1000 * 86400 + i}
                for i in range(12)
            ]
        )  # fmt: skip
        config = AccessConfig(password_cost=4, audit_retention=None, audit_max_rows=5)
        access = AccessService(db, config, clock=clock)
        upkeep = AuditUpkeep(access.purge_audit, interval=3600.0, batch=4, batches=10)
        assert upkeep.run_once().deleted == 7
        assert {e.resource for e in access.audit.query().items} == {f"r-{i}" for i in range(7, 12)}
        assert access.audit.purge(timedelta(days=1), limit=1) == 1  # a bounded purge
    finally:
        db.close()


def test_the_schedule_runs_at_start_and_again(tmp_path: Path) -> None:
    db = access_database(tmp_path)
    try:
        access = AccessService(db, AccessConfig(password_cost=4, audit_retention=3600.0))
        _old_and_new(access, old=3, new=1, age=7200)
        upkeep = AuditUpkeep(access.purge_audit, interval=0.2).start()
        try:
            wait_for(lambda: _count(access) == 1)
            _old_and_new(access, old=2, new=0, age=7200)
            wait_for(lambda: upkeep.runs >= 2 and _count(access) == 1)
        finally:
            upkeep.close()
    finally:
        db.close()


# --- 2. login entries ---------------------------------------------------------------------


def _logins(access: AccessService, username: str, ok: bool) -> int:
    return access.audit.query(
        AuditQuery(operation="login", username=username, ok=ok), page_size=100
    ).total


def _login_times(access: AccessService, username: str) -> int:
    """Successful logins counted, entries merged by the audit writer ("3 times") included."""
    found = access.audit.query(
        AuditQuery(operation="login", username=username, ok=True), page_size=100
    ).items
    return sum(int(e.description.split()[0]) if e.description else 1 for e in found)


def test_api_calls_with_basic_credentials_add_one_login_entry(tmp_path: Path) -> None:
    with access_registry(tmp_path) as reg:
        reg.user("alice", PASSWORD)
        for _ in range(20):
            r = reg.client.get(f"{API}/projects", headers=basic("alice", PASSWORD))
            assert r.status_code == 200, r.text
        assert _logins(reg.access, "alice", ok=True) == 1
        r = reg.client.get(f"{API}/projects", headers=basic("alice", "Wrong1234"))
        assert r.status_code == 401
        assert _logins(reg.access, "alice", ok=False) == 1
        # the next good call after a failure is a login worth recording again
        assert reg.client.get(f"{API}/projects", headers=basic("alice", PASSWORD)).is_success
        assert _logins(reg.access, "alice", ok=True) == 2


def test_projects_mode_records_logins_at_the_token_service_and_once_for_basic(
    served: Served,
) -> None:
    team_with_people(served.access)
    before = _login_times(served.access, "dev")
    dev = AuthedClient(served.client, basic("dev", PASSWORD))
    for _ in range(10):
        assert dev.get(f"{API}/projects").status_code == 200
        assert dev.get("/v2/").status_code == 200
    # logins reach the log through the batched audit writer (every 0.5 s)
    wait_for(lambda: _login_times(served.access, "dev") == before + 1)
    params = {"service": SERVICE, "scope": "repository:team/app:pull"}
    for _ in range(2):  # every token issued is a login, as Harbor records them
        assert dev.get("/service/token", params=params).status_code == 200
    # exactly: the Basic credentials above were one login, not one per request
    wait_for(lambda: _login_times(served.access, "dev") == before + 3)
    wrong = AuthedClient(served.client, basic("dev", "Wrong1234"))
    assert wrong.get(f"{API}/projects").status_code == 401
    assert _logins(served.access, "dev", ok=False) == 1


def test_the_login_window_is_per_user_and_address_and_ends(tmp_path: Path) -> None:
    db = access_database(tmp_path)
    clock = Clock()
    try:
        access = access_service(db, clock)
        access.users.create("alice", PASSWORD)
        header = basic("alice", PASSWORD)["authorization"]
        for _ in range(5):
            access.identify(header, client_ip="10.0.0.1")
        access.identify(header, client_ip="10.0.0.2")
        assert _logins(access, "alice", ok=True) == 2
        clock.advance(3600)
        access.identify(header, client_ip="10.0.0.1")
        assert _logins(access, "alice", ok=True) == 3
    finally:
        db.close()


# --- 3. quotas after API deletes ----------------------------------------------------------


def _used(served: Served, project: str) -> int:
    r = served.client.get(f"{API}/quotas", headers=basic("admin", ADMIN_PASSWORD))
    assert r.status_code == 200, r.text
    (quota,) = [q for q in r.json() if q["ref"]["name"] == project]
    return int(quota["used"]["storage"])


def test_deletes_through_the_api_give_quota_bytes_back(served: Served) -> None:
    team_with_people(served.access, storage_limit=1 << 20)
    dev = AuthedClient(served.client, basic("dev", PASSWORD))
    admin = AuthedClient(served.client, basic("admin", ADMIN_PASSWORD))
    first = push_image(dev, "team/app", "1", seed="one")
    push_image(dev, "team/app", "2", seed="two")
    push_image(dev, "team/db", "1", seed="three")
    assert _used(served, "team") > 0
    # a tag alone holds no bytes: deleting it leaves the artifact (and its bytes)
    held = _used(served, "team")
    r = admin.request("DELETE", f"{API}/projects/team/repositories/app/artifacts/2/tags/2")
    assert r.status_code == 200, r.text
    assert _used(served, "team") == held
    r = admin.request("DELETE", f"{API}/projects/team/repositories/app/artifacts/{first.digest}")
    assert r.status_code == 200, r.text
    assert 0 < _used(served, "team") < held
    r = admin.request("DELETE", f"{API}/projects/team/repositories/app")
    assert r.status_code == 200, r.text
    r = admin.request("DELETE", f"{API}/projects/team/repositories/db")
    assert r.status_code == 200, r.text
    assert _used(served, "team") == 0
