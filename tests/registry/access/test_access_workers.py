"""``auth: projects`` in a real ``dockyard registry serve --workers 2``: the failed-login count
is one for both worker processes (kept in the registry's database), and the logins the token
service batches are all written when the server stops."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from _infra import backend
from _infra.projects_registry import (
    ADMIN_PASSWORD,
    PASSWORD,
    SERVICE,
    audit_entries,
    projects_config,
    projects_env,
    team_with_people,
)
from _infra.registry_server import start_registry
from dockyard.registry._projects_mode import open_access
from dockyard.registry.access import AccessService
from dockyard.registry.metadata import Database

pytestmark = pytest.mark.slow

REFUSE_AFTER = 4


def _access(root: Path) -> tuple[AccessService, Database]:
    config = projects_config(root)
    assert config.access is not None
    db = backend.database(root)
    return open_access(config.access, db), db


def _prepare(root: Path) -> None:
    """The people, made before the server starts (as an operator would, through the API)."""
    access, db = _access(root)
    try:
        team_with_people(access)
    finally:
        db.close()


def _env(root: Path) -> dict[str, str]:
    return projects_env(
        root,
        DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD,
        REGISTRY_AUTH_PROJECTS_LOCKOUT_DELAYAFTER=str(REFUSE_AFTER),
        REGISTRY_AUTH_PROJECTS_LOCKOUT_REFUSEAFTER=str(REFUSE_AFTER),
        REGISTRY_AUTH_PROJECTS_LOCKOUT_DELAY="0s",
    )


def _token(url: str, user: str, password: str) -> httpx.Response:
    # a new connection each time: SO_REUSEPORT spreads them over both workers
    with httpx.Client() as client:
        return client.get(
            f"{url}/service/token",
            params={"service": SERVICE, "scope": "repository:team/app:pull"},
            auth=(user, password),
        )


def test_two_workers_count_failed_logins_together(tmp_path: Path) -> None:
    root = tmp_path / "data"
    with start_registry(root, "--workers", "2", env=_env(root)) as server:
        _prepare(root)
        for _ in range(REFUSE_AFTER):
            assert _token(server.url, "dev", "Wrong1234").status_code == 401
        # counted per process, a worker that saw fewer than 4 of them would still check the
        # password; counted together, every further attempt on either worker is refused
        for _ in range(12):
            r = _token(server.url, "dev", PASSWORD)
            assert r.status_code == 429, r.text
            assert 0 < int(r.headers["retry-after"]) <= 900
    access, db = _access(root)
    try:
        locks = audit_entries(access, operation="login_lockout")
        assert {(e.resource_type, e.resource) for e in locks} == {
            ("client", "127.0.0.1"), ("user", "dev")
        }  # fmt: skip
        assert len(access.lockout) <= 2 * REFUSE_AFTER  # bounded: newest failures per key
    finally:
        db.close()


def test_batched_token_logins_are_all_written_at_shutdown(tmp_path: Path) -> None:
    root = tmp_path / "data"
    issued = 24
    with start_registry(root, "--workers", "2", env=_env(root)) as server:
        _prepare(root)
        began = time.monotonic()
        for _ in range(issued):
            assert _token(server.url, "guest", PASSWORD).status_code == 200
        server.stop()  # SIGTERM: each worker writes what its audit writer holds, then exits
        assert server.process.returncode == 0
        assert time.monotonic() - began < 60
    access, db = _access(root)
    try:
        logins = audit_entries(access, operation="login", username="guest")
        counted = sum(int(e.description.split()[0]) if e.description else 1 for e in logins)
        assert counted == issued
        assert len(logins) < issued  # merged in memory: not one database write per token
        assert all(e.ok and e.client_ip == "127.0.0.1" for e in logins)
    finally:
        db.close()
