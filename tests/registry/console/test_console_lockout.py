"""The console's sign-in respects the access model's lockout: after too many wrong passwords
even the right one is refused, and no session is made."""

from __future__ import annotations

from pathlib import Path

from _infra.console import sign_in
from _infra.projects_registry import ADMIN_PASSWORD, projects_config
from _infra.registry_server import ASGIClient
from dockyard.registry._projects_mode import open_access
from dockyard.registry._server import build_app


def test_sign_in_is_refused_once_locked_out(tmp_path: Path) -> None:
    config = projects_config(
        tmp_path / "data",
        REGISTRY_AUTH_PROJECTS_LOCKOUT_DELAYAFTER="3",
        REGISTRY_AUTH_PROJECTS_LOCKOUT_REFUSEAFTER="3",
        REGISTRY_AUTH_PROJECTS_LOCKOUT_DELAY="0",
    )
    app = build_app(config, access_log=False)
    assert config.access is not None
    open_access(config.access, app.registry.meta.db).users.ensure_admin(ADMIN_PASSWORD)
    try:
        with ASGIClient(app) as client:
            for _ in range(3):
                assert sign_in(client, "admin", "wrong").status_code == 401
            r = sign_in(client, "admin", ADMIN_PASSWORD)
            assert r.status_code == 429, r.status_code
            assert "Cannot sign in now" in r.text
            assert "dockyard_session" not in r.headers.get("set-cookie", "")
            assert client.get("/").status_code == 303
    finally:
        for stop in app.on_shutdown:
            stop()
        app.registry.close()
