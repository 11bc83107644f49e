"""The token endpoint and bearer checks at /v2/, through the real app (in process)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from _infra import backend
from _infra.registry_server import ASGIClient, push_blob, push_image
from _infra.token_registry import ISSUER, SERVICE, AclGranter, token_config_env
from _infra.token_server import token_server
from dockyard.errors import InvalidArgument
from dockyard.registry._server import build_app
from dockyard.registry.config import load

USERS = {"alice": "a-pw", "bob": "b-pw"}
ACL = {
    "alice": {"team/": {"pull", "push", "delete"}, "shared/": {"pull"}},
    "bob": {"team/": {"pull"}},
}


def _basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def granter() -> AclGranter:
    return AclGranter(dict(USERS), ACL, blocked=["10.9.9.9"])


@pytest.fixture
def client(tmp_path: Path, granter: AclGranter) -> Iterator[ASGIClient]:
    app = build_app(
        load(None, token_config_env(tmp_path, USERS)), access_log=False, granter=granter
    )
    with ASGIClient(app) as c:
        yield c
    app.registry.close()


def _token(client: ASGIClient, user: str | None, *scopes: str, **params: str) -> dict[str, object]:
    headers = _basic(user, USERS[user]) if user else {}
    r = client.get(
        "/service/token",
        params={"service": SERVICE, "scope": list(scopes), **params},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def _bearer(token: object) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_challenge_names_realm_service_and_the_scope_the_route_needs(client: ASGIClient) -> None:
    r = client.get("/v2/")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == (
        f'Bearer realm="http://registry.test/service/token",service="{SERVICE}"'
    )
    r = client.head("/v2/team/app/manifests/v1")
    assert r.headers["www-authenticate"].endswith(',scope="repository:team/app:pull"')
    r = client.post("/v2/team/app/blobs/uploads/")
    assert r.headers["www-authenticate"].endswith(',scope="repository:team/app:pull,push"')
    r = client.delete("/v2/team/app/manifests/sha256:" + "0" * 64)
    assert r.headers["www-authenticate"].endswith(',scope="repository:team/app:delete"')
    r = client.get("/v2/_catalog")
    assert r.headers["www-authenticate"].endswith(',scope="registry:catalog:*"')
    body = client.get("/v2/team/app/tags/list").json()
    assert body["errors"][0]["code"] == "UNAUTHORIZED"
    assert body["errors"][0]["detail"] == [
        {"Type": "repository", "Class": "", "Name": "team/app", "Action": "pull"}
    ]
    bad = client.get("/v2/team/app/tags/list", headers=_bearer("x.y.z"))
    assert bad.headers["www-authenticate"].endswith(',error="invalid_token"')


def test_push_pull_with_granted_scopes_and_insufficient_scope(client: ASGIClient) -> None:
    alice = _token(client, "alice", "repository:team/app:pull,push")
    auth = _bearer(alice["token"])
    assert alice["access_token"] == alice["token"] and alice["expires_in"] == 300
    assert str(alice["issued_at"]).endswith("Z")

    class Authed:
        def __getattr__(self, method: str):  # type: ignore[no-untyped-def]
            return lambda url, **kw: getattr(client, method)(
                url, headers={**auth, **kw.pop("headers", {})}, **kw
            )

    image = push_image(Authed(), "team/app", "v1")
    assert client.get("/v2/team/app/manifests/v1", headers=auth).status_code == 200
    # the token grants nothing on team/other, and no delete on team/app
    r = client.get("/v2/team/other/tags/list", headers=auth)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].endswith(
        ',scope="repository:team/other:pull",error="insufficient_scope"'
    )
    r = client.delete(f"/v2/team/app/manifests/{image.digest}", headers=auth)
    assert r.status_code == 401 and "insufficient_scope" in r.headers["www-authenticate"]
    # bob may only pull: his push is refused, his pull works
    bob = _bearer(_token(client, "bob", "repository:team/app:pull,push")["token"])
    assert client.get("/v2/team/app/manifests/v1", headers=bob).status_code == 200
    assert client.post("/v2/team/app/blobs/uploads/", headers=bob).status_code == 401


def test_scope_escalation_is_cut_to_the_granted_subset(client: ASGIClient) -> None:
    doc = _token(
        client,
        "bob",
        "repository:team/app:pull,push,delete",
        "repository:shared/x:pull",
        "registry:catalog:*",
    )
    claims = jwt.decode(str(doc["token"]), options={"verify_signature": False})
    assert claims["access"] == [{"type": "repository", "name": "team/app", "actions": ["pull"]}]
    assert claims["iss"] == ISSUER and claims["aud"] == SERVICE and claims["sub"] == "bob"


def test_anonymous_gets_a_token_granting_nothing(client: ASGIClient) -> None:
    doc = _token(client, None, "repository:team/app:pull")
    claims = jwt.decode(str(doc["token"]), options={"verify_signature": False})
    assert claims["access"] == [] and claims["sub"] == ""
    assert "refresh_token" not in doc
    r = client.get("/v2/team/app/tags/list", headers=_bearer(doc["token"]))
    assert r.status_code == 401 and "insufficient_scope" in r.headers["www-authenticate"]
    assert client.get("/v2/", headers=_bearer(doc["token"])).status_code == 200


def test_bad_credentials_401_and_throttled_429(client: ASGIClient, granter: AclGranter) -> None:
    r = client.get("/service/token", params={"service": SERVICE}, headers=_basic("alice", "nope"))
    assert r.status_code == 401
    assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"
    granter.blocked.add("127.0.0.1")  # the in-process client's address
    r = client.get("/service/token", params={"service": SERVICE}, headers=_basic("alice", "a-pw"))
    assert r.status_code == 429 and r.headers["retry-after"] == "7"
    assert r.json()["errors"][0]["code"] == "TOOMANYREQUESTS"


def test_wrong_service_and_bad_scope_are_400(client: ASGIClient) -> None:
    r = client.get("/service/token", params={"service": "elsewhere"})
    assert r.status_code == 400 and "elsewhere" in r.text
    r = client.get("/service/token", params={"service": SERVICE, "scope": "nonsense"})
    assert r.status_code == 400


def test_refresh_token_flow_and_revocation(client: ASGIClient, granter: AclGranter) -> None:
    doc = _token(client, "alice", "repository:team/app:pull", offline_token="true", client_id="t")
    refresh = str(doc["refresh_token"])
    # a refresh token is no access token
    r = client.get("/v2/", headers=_bearer(refresh))
    assert r.status_code == 401 and "invalid_token" in r.headers["www-authenticate"]
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh,
        "client_id": "docker",
        "service": SERVICE,
        "scope": "repository:team/app:pull,push repository:elsewhere:pull",
    }
    r = client.post("/service/token", data=form)
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "repository:team/app:pull,push"
    assert (
        client.get("/v2/team/app/tags/list", headers=_bearer(r.json()["access_token"])).status_code
        == 404
    )
    # password grant, with access_type=offline
    r = client.post(
        "/service/token",
        data={"grant_type": "password", "username": "bob", "password": "b-pw",
              "client_id": "podman", "access_type": "offline", "service": SERVICE},
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["refresh_token"]
    bad = client.post("/service/token", data={**form, "refresh_token": refresh[:-4] + "AAAA"})
    assert bad.status_code == 401
    del granter.users["alice"]  # the account is gone: its refresh tokens no longer work
    assert client.post("/service/token", data=form).status_code == 401
    assert client.post("/service/token", data={**form, "client_id": ""}).status_code == 400


def test_mount_from_a_repository_the_token_cannot_pull_becomes_an_upload(
    client: ASGIClient,
) -> None:
    alice = _bearer(_token(client, "alice", "repository:team/src:pull,push")["token"])

    class Authed:
        def __getattr__(self, method: str):  # type: ignore[no-untyped-def]
            return lambda url, **kw: getattr(client, method)(url, headers=alice, **kw)

    digest = push_blob(Authed(), "team/src", b"secret layer")
    both = _bearer(
        _token(client, "alice", "repository:team/dst:pull,push", "repository:team/src:pull")[
            "token"
        ]
    )
    r = client.post(f"/v2/team/dst/blobs/uploads/?mount={digest}&from=team/src", headers=both)
    assert r.status_code == 201
    only_dst = _bearer(_token(client, "alice", "repository:team/dst2:pull,push")["token"])
    r = client.post(f"/v2/team/dst2/blobs/uploads/?mount={digest}&from=team/src", headers=only_dst)
    assert r.status_code == 202  # not linked: the token grants no pull on team/src


def test_external_issuer_is_trusted_as_registry2_auth_token(tmp_path: Path) -> None:
    acl = {"alice": [("team/", frozenset({"pull"}))]}
    with token_server(tmp_path / "tokens", {"alice": "pw"}, acl) as tokens:
        env = {
            **backend.serve_env(tmp_path / "data", {}),
            "REGISTRY_AUTH": "token",
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(tmp_path / "data"),
            **{f"REGISTRY_AUTH_TOKEN_{k.upper()}": v for k, v in tokens.registry_auth().items()},
        }
        app = build_app(load(None, env), access_log=False)
        with ASGIClient(app) as client:
            r = client.get("/v2/team/app/tags/list")
            assert r.headers["www-authenticate"] == (
                f'Bearer realm="{tokens.realm}",service="{tokens.registry_auth()["service"]}",'
                'scope="repository:team/app:pull"'
            )
            token = tokens.issue("alice", ["repository:team/app:pull,push"])["token"]
            assert client.get("/v2/team/app/tags/list", headers=_bearer(token)).status_code == 404
            r = client.post("/v2/team/app/blobs/uploads/", headers=_bearer(token))
            assert r.status_code == 401 and "insufficient_scope" in r.headers["www-authenticate"]
            assert client.get("/service/token").status_code == 404  # verify only: no issuing
        app.registry.close()


def test_config_is_strict_and_complete(tmp_path: Path) -> None:
    base = {"REGISTRY_AUTH": "token", "REGISTRY_AUTH_TOKEN_REALM": "https://auth/token"}
    with pytest.raises(InvalidArgument, match=r"auth\.token\.service"):
        load(None, base)
    with pytest.raises(InvalidArgument, match=r"unknown configuration key 'auth\.token\.isuer'"):
        load(None, {**base, "REGISTRY_AUTH_TOKEN_ISUER": "x"})
    with pytest.raises(InvalidArgument, match="rootcertbundle"):
        load(None, {**base, "REGISTRY_AUTH_TOKEN_SERVICE": "s", "REGISTRY_AUTH_TOKEN_ISSUER": "i"})
    env = token_config_env(tmp_path, USERS)
    with pytest.raises(InvalidArgument, match="expiration"):
        load(None, {**env, "REGISTRY_AUTH_HTPASSWD_TOKEN_EXPIRATION": "2s"})
    with pytest.raises(InvalidArgument, match="unknown configuration key"):
        load(None, {**env, "REGISTRY_AUTH_HTPASSWD_TOKEN_LIFETIME": "5m"})
    config = load(None, {**env, "REGISTRY_AUTH_HTPASSWD_TOKEN_EXPIRATION": "10m"})
    assert config.htpasswd is not None and config.htpasswd.token is not None
    assert config.htpasswd.token.expiration == 600 and config.auth_enabled
