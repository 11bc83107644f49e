"""``auth: projects`` wired into the registry app (in process, over HTTP/ASGI): /v2/ refuses
anonymous pushes, takes Harbor-style Basic credentials and its own tokens, grants by project
role, counts quotas at push, and audits pushes, pulls and logins."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra.projects_registry import (
    ADMIN_PASSWORD,
    PASSWORD,
    SERVICE,
    audit_entries,
    basic,
    header_params,
    projects_config,
    team_with_people,
    wait_for,
)
from _infra.registry_server import ASGIClient, AuthedClient, error_code, push_blob, push_image
from dockyard.registry import RegistryApp
from dockyard.registry._projects_mode import open_access
from dockyard.registry._server import build_app
from dockyard.registry.access import Access, AccessService, AuditEntry, RobotPermission
from dockyard.registry.config import RegistryConfig


@dataclass
class Served:
    app: RegistryApp
    client: ASGIClient
    access: AccessService
    config: RegistryConfig


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    config = projects_config(
        tmp_path / "data",
        REGISTRY_AUTH_PROJECTS_LOCKOUT_DELAYAFTER="5",
        REGISTRY_AUTH_PROJECTS_LOCKOUT_REFUSEAFTER="5",
    )
    app = build_app(config, access_log=False)
    access = open_access(config.access, app.registry.meta.db)  # type: ignore[arg-type]
    with ASGIClient(app) as client:
        yield Served(app, client, access, config)
    for stop in app.on_shutdown:
        stop()
    app.registry.close()


def _token(served: Served, scope: str, auth: dict[str, str] | None = None) -> str:
    r = served.client.get(
        "/service/token", params={"service": SERVICE, "scope": scope}, headers=auth or {}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_anonymous_push_is_refused_with_the_token_challenge(served: Served) -> None:
    team_with_people(served.access, public=True)
    for method, path in (
        ("POST", "/v2/team/app/blobs/uploads/"),
        ("PUT", "/v2/team/app/manifests/1"),
        ("GET", "/v2/"),
        ("GET", "/v2/_catalog"),
        ("GET", "/v2/team/app/manifests/1"),  # even a public project's: docker asks for a token
    ):
        r = served.client.request(method, path)
        assert r.status_code == 401, (method, path, r.text)
        assert error_code(r) == "UNAUTHORIZED"
        params = header_params(r.headers["www-authenticate"])
        assert r.headers["www-authenticate"].startswith("Bearer ")
        assert params["realm"] == "http://registry.test/service/token"
        assert params["service"] == SERVICE
    r = served.client.post("/v2/team/app/blobs/uploads/")
    assert header_params(r.headers["www-authenticate"])["scope"] == "repository:team/app:pull,push"
    assert served.access.quotas.usage("team") == 0


def test_basic_credentials_grant_by_project_role(served: Served) -> None:
    team_with_people(served.access)
    admin = AuthedClient(served.client, basic("admin", ADMIN_PASSWORD))
    dev = AuthedClient(served.client, basic("dev", PASSWORD))
    guest = AuthedClient(served.client, basic("guest", PASSWORD))
    assert admin.get("/v2/").status_code == 200
    pushed = push_image(admin, "team/app", "1", seed="admin")
    push_image(dev, "team/app", "2", seed="dev")
    for who in (admin, dev, guest):
        r = who.get("/v2/team/app/manifests/1")
        assert r.status_code == 200 and r.content == pushed.manifest
    refused = guest.post("/v2/team/app/blobs/uploads/")
    # Harbor's answer to credentials that do not grant the route: 401 with a Basic challenge
    assert refused.status_code == 401, refused.text
    assert error_code(refused) == "UNAUTHORIZED"
    assert refused.headers["www-authenticate"] == 'Basic realm="dockyard"'
    assert "team/app" in refused.json()["errors"][0]["message"]
    wrong = AuthedClient(served.client, basic("dev", "Wrong1234"))
    assert wrong.get("/v2/team/app/manifests/1").status_code == 401
    outsider = served.access.users.create("outsider", PASSWORD)
    assert outsider.username == "outsider"
    other = AuthedClient(served.client, basic("outsider", PASSWORD))
    assert other.get("/v2/").status_code == 200
    assert other.get("/v2/team/app/manifests/1").status_code == 401  # a private project
    assert admin.get("/v2/_catalog").json() == {"repositories": ["team/app"]}
    assert other.get("/v2/_catalog").status_code == 401


def test_anonymous_tokens_pull_public_projects_only(served: Served) -> None:
    admin = team_with_people(served.access, "private")
    served.access.create_project(admin, "pub", public=True)
    root = AuthedClient(served.client, basic("admin", ADMIN_PASSWORD))
    push_image(root, "pub/app", "1", seed="p")
    push_image(root, "private/app", "1", seed="q")
    token = _token(served, "repository:pub/app:pull,push")
    r = served.client.get("/v2/pub/app/manifests/1", headers=_bearer(token))
    assert r.status_code == 200
    r = served.client.post("/v2/pub/app/blobs/uploads/", headers=_bearer(token))
    assert r.status_code == 401 and 'error="insufficient_scope"' in r.headers["www-authenticate"]
    token = _token(served, "repository:private/app:pull")
    r = served.client.get("/v2/private/app/manifests/1", headers=_bearer(token))
    assert r.status_code == 401 and 'error="insufficient_scope"' in r.headers["www-authenticate"]


def test_refresh_tokens_follow_the_account(served: Served) -> None:
    team_with_people(served.access)
    form = {
        "grant_type": "password", "username": "dev", "password": PASSWORD,
        "service": SERVICE, "client_id": "docker", "access_type": "offline",
        "scope": "repository:team/app:pull,push",
    }  # fmt: skip
    r = served.client.post("/service/token", data=form)
    assert r.status_code == 200, r.text
    refresh = r.json()["refresh_token"]
    assert r.json()["scope"] == "repository:team/app:pull,push"
    again = {
        "grant_type": "refresh_token", "refresh_token": refresh, "service": SERVICE,
        "client_id": "docker", "scope": "repository:team/app:pull,push",
    }  # fmt: skip
    r = served.client.post("/service/token", data=again)
    assert r.status_code == 200 and r.json()["scope"] == "repository:team/app:pull,push"
    token = r.json()["access_token"]
    push_image(AuthedClient(served.client, _bearer(token)), "team/app", "1")
    # the account gone: its refresh token is worth nothing
    served.access.users.delete(served.access.users.by_name("dev").id)
    r = served.client.post("/service/token", data=again)
    assert r.status_code == 401


def test_robot_pushes_with_its_secret_until_refreshed(served: Served) -> None:
    admin = team_with_people(served.access)
    permissions = [
        RobotPermission(
            "project", "team", (Access("repository", "pull"), Access("repository", "push"))
        )
    ]
    robot, secret = served.access.create_robot(
        admin, "ci", level="project", permissions=permissions, duration=-1
    )
    assert robot.name == "robot$team+ci"
    push_image(AuthedClient(served.client, basic(robot.name, secret)), "team/app", "1")
    token = _token(served, "repository:team/app:pull,push", basic(robot.name, secret))
    push_image(AuthedClient(served.client, _bearer(token)), "team/app", "2", seed="t")
    fresh = served.access.refresh_robot_secret(admin, robot.id)
    r = served.client.get(
        "/service/token",
        params={"service": SERVICE, "scope": "repository:team/app:pull"},
        headers=basic(robot.name, secret),
    )
    assert r.status_code == 401
    assert served.client.get("/v2/", headers=basic(robot.name, secret)).status_code == 401
    assert served.client.get("/v2/", headers=basic(robot.name, fresh)).status_code == 200
    assert {e.resource for e in audit_entries(served.access, resource_type="robot")} == {robot.name}


def test_quota_refuses_the_push_that_would_exceed_it(served: Served) -> None:
    team_with_people(served.access, storage_limit=4000)
    dev = AuthedClient(served.client, basic("dev", PASSWORD))
    first = push_image(dev, "team/app", "1", seed="a")  # ~2.3 KB of layers
    used = served.access.quotas.usage("team")
    assert used == len(first.manifest) + len(first.config) + sum(map(len, first.layers))
    # the same layers again under another tag cost nothing new
    r = dev.put(
        "/v2/team/app/manifests/again",
        content=first.manifest,
        headers={"content-type": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert r.status_code == 201 and served.access.quotas.usage("team") == used
    big = b"x" * 3000
    location = dev.post("/v2/team/app/blobs/uploads/").headers["location"]
    r = dev.put(location, params={"digest": _sha256(big)}, content=big)
    assert r.status_code == 403, r.text
    assert error_code(r) == "DENIED"
    message = r.json()["errors"][0]["message"]
    assert "exceed project team's quota of 3.9KB" in message, message
    # a manifest whose new blobs pass the quota is refused too (blobs pushed by another way)
    config = json.dumps({"seed": "b" * 2000}).encode()
    layer = b"y" * 10
    push_blob(dev, "team/app", layer)
    r = dev.post("/v2/team/app/blobs/uploads/", params={"digest": _sha256(config)}, content=config)
    assert r.status_code == 201  # a single-request upload is checked at the manifest
    manifest = _manifest(config, layer)
    r = dev.put(
        "/v2/team/app/manifests/2",
        content=manifest,
        headers={"content-type": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert r.status_code == 403 and "quota" in r.json()["errors"][0]["message"]
    assert served.access.quotas.usage("team") == used
    # deleting gives the bytes back
    admin = AuthedClient(served.client, basic("admin", ADMIN_PASSWORD))
    assert admin.request("DELETE", f"/v2/team/app/manifests/{first.digest}").status_code == 202
    assert served.access.quotas.usage("team") == 0


def test_push_into_a_missing_project_is_refused_even_for_admin(served: Served) -> None:
    served.access.users.ensure_admin(ADMIN_PASSWORD)
    admin = AuthedClient(served.client, basic("admin", ADMIN_PASSWORD))
    location = admin.post("/v2/nowhere/app/blobs/uploads/").headers["location"]
    r = admin.put(location, params={"digest": _sha256(b"abc")}, content=b"abc")
    assert r.status_code == 403 and "project 'nowhere' does not exist" in r.text


def test_pushes_pulls_and_logins_are_audited(served: Served) -> None:
    team_with_people(served.access, public=True)
    dev = AuthedClient(served.client, basic("dev", PASSWORD))
    pushed = push_image(dev, "team/app", "1")
    assert dev.get("/v2/team/app/manifests/1").status_code == 200
    token = _token(served, "repository:team/app:pull")
    assert served.client.get("/v2/team/app/manifests/1", headers=_bearer(token)).status_code == 200
    for _ in range(3):  # served from the cache, within one write interval: one entry
        assert dev.get(f"/v2/team/app/manifests/{pushed.digest}").status_code == 200

    def times(entry: AuditEntry) -> int:
        return int(entry.description.split()[0]) if entry.description else 1

    def pulled() -> list[AuditEntry] | None:
        found = audit_entries(served.access, operation="pull")
        return found if sum(map(times, found)) == 5 else None

    pulls = wait_for(pulled)
    assert {(e.username, e.resource) for e in pulls} == {
        ("dev", "team/app:1"),
        ("anonymous", "team/app:1"),
        ("dev", f"team/app:{pushed.digest}"),
    }
    assert len(pulls) < 5  # repeated pulls were written as one entry ("3 times")
    assert all(e.client_ip == "127.0.0.1" and e.project == "team" for e in pulls)
    (push,) = audit_entries(served.access, operation="create", resource_type="artifact")
    assert (push.username, push.resource, push.ok) == ("dev", "team/app:1", True)
    logins = audit_entries(served.access, operation="login", username="dev")
    assert logins and logins[0].client_ip == "127.0.0.1"  # Basic: once, not per request


def test_five_wrong_passwords_lock_the_address_out(served: Served) -> None:
    team_with_people(served.access)
    params = {"service": SERVICE, "scope": "repository:team/app:pull"}
    for _ in range(5):
        r = served.client.get("/service/token", params=params, headers=basic("dev", "Nope12345"))
        assert r.status_code == 401
    r = served.client.get("/service/token", params=params, headers=basic("dev", PASSWORD))
    assert r.status_code == 429, r.text
    assert int(r.headers["retry-after"]) > 0
    r = served.client.get("/v2/", headers=basic("dev", PASSWORD))
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert error_code(r) == "TOOMANYREQUESTS"
    (lock, *_) = audit_entries(served.access, operation="login_lockout")
    assert lock.client_ip == "127.0.0.1" and lock.ok is False


def _sha256(data: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()


def _manifest(config: bytes, layer: bytes) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _sha256(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": _sha256(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()


def test_refused_attempts_are_audited_but_not_the_token_handshake(served: Served) -> None:
    team_with_people(served.access)
    admin = AuthedClient(served.client, basic("admin", ADMIN_PASSWORD))
    push_image(admin, "team/app", "1", seed="admin")
    guest = AuthedClient(served.client, basic("guest", PASSWORD))
    assert guest.post("/v2/team/app/blobs/uploads/").status_code == 401
    assert guest.request("DELETE", "/v2/team/app/manifests/1").status_code == 401
    # the bare challenge every client meets before asking for a token is no attempt
    assert served.client.get("/v2/team/app/manifests/1").status_code == 401

    def refused() -> list[AuditEntry] | None:
        found = [e for e in audit_entries(served.access, username="guest") if not e.ok]
        return found if len(found) == 2 else None

    entries = wait_for(refused)
    assert {(e.operation, e.resource_type, e.project) for e in entries} == {
        ("create", "blob", "team"),
        ("delete", "artifact", "team"),
    }
    assert not [e for e in audit_entries(served.access, username="anonymous") if not e.ok]
