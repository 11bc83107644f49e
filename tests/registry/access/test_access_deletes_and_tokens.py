"""A projects-mode registry process started with its default configuration (no
``storage.delete.enabled``): deletes are allowed as in Harbor, where the role's ``delete``
permission is the only guard, through Harbor's API (artifact, tag) and ``/v2/`` (a manifest by
digest), and written in the audit log. Then bad JSON Web Tokens sent to it (a forged signature, claims rewritten to escalate
the scope, expired, another audience or issuer, ``alg=none``, HS256 keyed with the public key,
another key under the registry's key id): each is refused with 401 and ``error="invalid_token"``
in the challenge, as distribution answers, and no manifest, tag or blob changes. Last, an
anonymous attempt to change something through the API is in the audit log, within a budget
per address."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from _infra.harbor_api import check_error
from _infra.projects_registry import ADMIN_PASSWORD, PASSWORD, SERVICE, projects_env, wait_for
from _infra.registry_server import (
    OCI_MANIFEST,
    RegistryProcess,
    make_manifest,
    push_image,
    sha256,
    start_registry,
)
from dockyard.registry._audit_hook import ANONYMOUS_BUDGET
from dockyard.registry.config import load
from dockyard.registry.token._keys import CERT_FILE, KEY_FILE, SigningKey, load_signing_key

pytestmark = pytest.mark.slow

API = "/api/v2.0"
ROLES = {"maint": 4, "devel": 2, "visitor": 3}


@dataclass
class Running:
    server: RegistryProcess

    def client(self, user: str | None = "admin", **kw: Any) -> httpx.Client:
        auth: Any = None
        if user is not None:
            auth = (user, ADMIN_PASSWORD if user == "admin" else PASSWORD)
        return httpx.Client(base_url=self.server.url, auth=auth, timeout=60, **kw)

    def key(self) -> SigningKey:
        where = self.server.root / "token"
        return load_signing_key(where / KEY_FILE, where / CERT_FILE)


def _default_env(root: Path) -> dict[str, str]:
    env = projects_env(root, DOCKYARD_ADMIN_PASSWORD=ADMIN_PASSWORD)
    del env["REGISTRY_STORAGE_DELETE_ENABLED"]  # the default configuration
    return env


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    root = tmp_path_factory.mktemp("defaults") / "data"
    with start_registry(root, env=_default_env(root)) as server:
        it = Running(server)
        with it.client() as admin:
            body = {"project_name": "team", "metadata": {"public": "false"}}
            assert admin.post(f"{API}/projects", json=body).status_code == 201
            for user, role in ROLES.items():
                body = {"username": user, "password": PASSWORD, "realname": user,
                        "email": f"{user}@example.test"}  # fmt: skip
                assert admin.post(f"{API}/users", json=body).status_code == 201
                member = {"role_id": role, "member_user": {"username": user}}
                assert admin.post(f"{API}/projects/team/members", json=member).status_code == 201
        yield it


def test_the_default_configuration_turns_deletes_on_in_projects_mode_only(tmp_path: Path) -> None:
    env = _default_env(tmp_path)
    assert load(None, env).storage.delete_enabled is True
    # an operator who turns them off is still obeyed; other modes keep registry:2's default
    off = {**env, "REGISTRY_STORAGE_DELETE_ENABLED": "false"}
    assert load(None, off).storage.delete_enabled is False
    plain = {k: v for k, v in env.items() if not k.startswith("REGISTRY_AUTH")}
    assert load(None, plain).storage.delete_enabled is False


def _tags(running: Running, repository: str) -> list[str]:
    with running.client() as admin:
        r = admin.get(f"/v2/{repository}/tags/list")
    if r.status_code == 404:
        return []
    assert r.status_code == 200, r.text
    return sorted(r.json()["tags"] or [])


def test_harbor_deletes_are_allowed_by_role_on_a_default_registry(running: Running) -> None:
    repo = f"{API}/projects/team/repositories/app"
    with running.client() as admin:
        one = push_image(admin, "team/app", "1", seed="one")
        two = push_image(admin, "team/app", "2", seed="two")
        r = admin.put("/v2/team/app/manifests/also-one", content=one.manifest,
                      headers={"content-type": OCI_MANIFEST})  # fmt: skip
        assert r.status_code == 201, r.text
    # a developer holds no tag:delete and no artifact:delete: 403, nothing goes
    with running.client("devel") as dev:
        check_error(dev.delete(f"{repo}/artifacts/{one.digest}/tags/1"), 403, "FORBIDDEN")
        check_error(dev.delete(f"{repo}/artifacts/2"), 403, "FORBIDDEN")
        r = dev.delete(f"/v2/team/app/manifests/{one.digest}")
        assert r.status_code in (401, 403), r.text
    assert _tags(running, "team/app") == ["1", "2", "also-one"]
    with running.client("maint") as maint:
        # Harbor's tag delete: the tag goes, the artifact stays under its other tag
        r = maint.delete(f"{repo}/artifacts/{one.digest}/tags/1")
        assert r.status_code == 200, r.text
        assert _tags(running, "team/app") == ["2", "also-one"]
        # Harbor's artifact delete, by tag: the artifact and its tags go
        r = maint.delete(f"{repo}/artifacts/2")
        assert r.status_code == 200, r.text
        assert _tags(running, "team/app") == ["also-one"]
        # /v2/: a manifest by digest, as Harbor allows to whom holds repository delete
        r = maint.delete(f"/v2/team/app/manifests/{one.digest}")
        assert r.status_code == 202, r.text
        assert maint.get(f"/v2/team/app/manifests/{one.digest}").status_code == 404
    assert _tags(running, "team/app") == []
    # each delete in the audit log, as Harbor writes it, under who did it
    expected = {
        ("delete", "tag", "team/app:1"),
        ("delete", "artifact", f"team/app@{two.digest}"),
        ("delete", "artifact", f"team/app:{one.digest}"),  # /v2/'s entry
    }

    def deleted() -> set[tuple[str, str, str]] | None:
        with running.client() as admin:
            r = admin.get(f"{API}/audit-logs", params={"q": "username=maint", "page_size": 100})
        assert r.status_code == 200, r.text
        got = {(e["operation"], e["resource_type"], e["resource"]) for e in r.json()}
        return got if expected <= got else None

    wait_for(deleted)


# --- bad tokens ---------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims).encode())
    return f"{head}.{body}."


def _claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


FULL_ACCESS = [{"type": "repository", "name": "team/target", "actions": ["pull", "push", "delete"]}]


def _signed(running: Running, claims: dict[str, Any], **headers: Any) -> str:
    key = running.key()
    return jwt.encode(claims, key.private, algorithm=key.algorithm,
                      headers={"typ": "JWT", "kid": key.kid, **headers})  # fmt: skip


def _forged_signature(running: Running, base: dict[str, Any], real: str) -> str:
    head, body, signature = _signed(running, base).split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{body}.{_b64(bytes(raw))}"


def _escalated(running: Running, base: dict[str, Any], real: str) -> str:
    """A visitor's real token (pull only) with its ``access`` rewritten, signature kept."""
    head, _, signature = real.split(".")
    claims = {**_claims(real), "access": FULL_ACCESS}
    return f"{head}.{_b64(json.dumps(claims).encode())}.{signature}"


def _expired(running: Running, base: dict[str, Any], real: str) -> str:
    now = int(time.time())
    return _signed(running, {**base, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600})


def _wrong_audience(running: Running, base: dict[str, Any], real: str) -> str:
    return _signed(running, {**base, "aud": "some-other-registry"})


def _wrong_issuer(running: Running, base: dict[str, Any], real: str) -> str:
    return _signed(running, {**base, "iss": "someone-else"})


def _alg_none(running: Running, base: dict[str, Any], real: str) -> str:
    return _unsigned({"typ": "JWT", "alg": "none", "kid": running.key().kid}, base)


def _hs256_with_the_public_key(running: Running, base: dict[str, Any], real: str) -> str:
    key = running.key()
    public = key.public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    head = _b64(json.dumps({"typ": "JWT", "alg": "HS256", "kid": key.kid}).encode())
    body = _b64(json.dumps(base).encode())
    mac = hmac.new(public, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def _wrong_key(running: Running, base: dict[str, Any], real: str) -> str:
    """Signed by a key of the attacker's own, claiming the registry's key id."""
    foreign = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(base, foreign, algorithm="ES256",
                      headers={"typ": "JWT", "kid": running.key().kid})  # fmt: skip


BAD_TOKENS: dict[str, Callable[[Running, dict[str, Any], str], str]] = {
    "forged-signature": _forged_signature,
    "scope-escalation": _escalated,
    "expired": _expired,
    "wrong-audience": _wrong_audience,
    "wrong-issuer": _wrong_issuer,
    "alg-none": _alg_none,
    "hs256-public-key": _hs256_with_the_public_key,
    "wrong-key": _wrong_key,
}


@dataclass
class Target:
    digest: str
    tags: list[str]


@pytest.fixture(scope="module")
def target(running: Running) -> Target:
    with running.client() as admin:
        pushed = push_image(admin, "team/target", "1", seed="target")
    return Target(pushed.digest, _tags(running, "team/target"))


def _minted_claims(running: Running) -> tuple[dict[str, Any], str]:
    """Claims as the registry would sign them for ``maint`` (everything on team/target), and
    a real token of ``visitor`` (pull only) to tamper with."""
    params = {"service": SERVICE, "scope": "repository:team/target:pull,push,delete"}
    with running.client("visitor") as c:
        r = c.get("/service/token", params=params)
    assert r.status_code == 200, r.text
    real = r.json()["token"]
    granted = _claims(real)["access"]
    assert granted == [{"type": "repository", "name": "team/target", "actions": ["pull"]}]
    now = int(time.time())
    base = {**_claims(real), "sub": "maint", "access": FULL_ACCESS, "iat": now, "nbf": now - 1,
            "exp": now + 300}  # fmt: skip
    return base, real


def _state(running: Running, target: Target, blob: str) -> tuple[Any, ...]:
    with running.client() as admin:
        manifest = admin.get("/v2/team/target/manifests/1", headers={"accept": OCI_MANIFEST})
        blob_status = admin.head(f"/v2/team/target/blobs/{blob}").status_code
    return (
        manifest.status_code,
        manifest.headers.get("docker-content-digest"),
        _tags(running, "team/target"),
        blob_status,
    )


def test_a_well_made_token_is_accepted(running: Running, target: Target) -> None:
    """The control: the same claims, signed as the registry signs them, pull and delete."""
    base, _ = _minted_claims(running)
    token = _signed(running, base)
    with httpx.Client(base_url=running.server.url, timeout=60) as c:
        r = c.get("/v2/team/target/manifests/1",
                  headers={"authorization": f"Bearer {token}", "accept": OCI_MANIFEST})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.headers["docker-content-digest"] == target.digest


@pytest.mark.parametrize("attack", list(BAD_TOKENS))
def test_a_bad_token_is_refused_and_changes_nothing(
    running: Running, target: Target, attack: str
) -> None:
    base, real = _minted_claims(running)
    token = BAD_TOKENS[attack](running, base, real)
    blob = f"evil blob for {attack}".encode()
    before = _state(running, target, sha256(blob))
    config = json.dumps({"evil": attack}).encode()
    evil = make_manifest(config, [blob])
    auth = {"authorization": f"Bearer {token}"}
    with httpx.Client(base_url=running.server.url, timeout=60, headers=auth) as c:
        answers = {
            "pull": c.get("/v2/team/target/manifests/1", headers={"accept": OCI_MANIFEST}),
            "blob upload": c.post(
                "/v2/team/target/blobs/uploads/", params={"digest": sha256(blob)}, content=blob
            ),
            "manifest push": c.put(
                "/v2/team/target/manifests/1", content=evil, headers={"content-type": OCI_MANIFEST}
            ),
            "delete": c.delete(f"/v2/team/target/manifests/{target.digest}"),
        }
    for what, r in answers.items():
        assert r.status_code == 401, (attack, what, r.status_code, r.text)
        assert r.json()["errors"][0]["code"] == "UNAUTHORIZED", (attack, what, r.text)
        challenge = r.headers["www-authenticate"]
        assert challenge.startswith("Bearer realm="), (attack, what, challenge)
        assert 'error="invalid_token"' in challenge, (attack, what, challenge)
    after = _state(running, target, sha256(blob))
    assert after == before, (attack, before, after)
    assert after[0] == 200 and after[1] == target.digest and after[2] == target.tags
    assert after[3] == 404  # the blob was never stored


def test_a_real_token_used_past_its_scope_is_insufficient(running: Running, target: Target) -> None:
    """Not a bad token: the visitor's real one, used to delete: ``insufficient_scope``."""
    _, real = _minted_claims(running)
    with httpx.Client(base_url=running.server.url, timeout=60) as c:
        r = c.delete(f"/v2/team/target/manifests/{target.digest}",
                     headers={"authorization": f"Bearer {real}"})  # fmt: skip
    assert r.status_code == 401, r.text
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    assert _tags(running, "team/target") == target.tags


# --- anonymous attempts in the audit log --------------------------------------------------


def _anonymous_refusals(running: Running, path: str) -> int:
    """How many refused anonymous calls of ``path`` the log counts (merged entries say "N
    times")."""
    with running.client() as admin:
        r = admin.get(f"{API}/auditlog-exts", params={
            "q": "username=anonymous,op_result=false", "page_size": 100})  # fmt: skip
    assert r.status_code == 200, r.text
    total = 0
    for entry in r.json():
        if entry["resource"] == path:
            times = entry["operation_description"].removesuffix(" times")
            total += int(times) if times.isdigit() else 1
    return total


def test_anonymous_api_writes_are_logged_within_a_budget_per_address(running: Running) -> None:
    """An anonymous attempt to change something is in the log as ``anonymous``, at most
    ANONYMOUS_BUDGET (30) a minute from one address; anonymous reads are not attempts."""
    path = "/projects/team/members"
    member = {"role_id": 1, "member_user": {"username": "visitor"}}
    with running.client(None) as anonymous:
        check_error(anonymous.get(f"{API}{path}"), 401, "UNAUTHORIZED")
        for _ in range(ANONYMOUS_BUDGET + 10):
            check_error(anonymous.post(f"{API}{path}", json=member), 401, "UNAUTHORIZED")

    def counted() -> int | None:
        seen = _anonymous_refusals(running, path)
        return seen if seen >= ANONYMOUS_BUDGET else None

    assert wait_for(counted) == ANONYMOUS_BUDGET
    with running.client() as admin:
        r = admin.get(f"{API}/auditlog-exts", params={
            "q": "username=anonymous,op_result=false", "page_size": 100})  # fmt: skip
    kinds = {(e["operation"], e["resource_type"]) for e in r.json() if e["resource"] == path}
    assert kinds == {("create", "member")}, kinds  # the refused permission; the GET is not there


# --- small things Harbor's clients meet ---------------------------------------------------


def test_a_robot_name_conflict_names_the_robot_login(running: Running) -> None:
    body = {"name": "ci", "level": "project", "duration": -1, "permissions": [
        {"kind": "project", "namespace": "team",
         "access": [{"resource": "repository", "action": "pull"}]}]}  # fmt: skip
    with running.client() as admin:
        first = admin.post(f"{API}/robots", json=body)
        assert first.status_code == 201, first.text
        assert first.json()["name"] == "robot$team+ci"
        message = check_error(admin.post(f"{API}/robots", json=body), 409, "CONFLICT")
    assert "robot$team+ci" in message and "'" not in message, message


def test_op_time_ranges_take_harbor_s_other_time_layouts(running: Running) -> None:
    """``op_time=[2026-12-04 00:00:00~…]`` (a space, as date pickers send it) and plain dates
    are accepted as Harbor's q parser (its database) accepts them, and select the same."""
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    with running.client() as admin:

        def ops(q: str) -> list[int]:
            r = admin.get(f"{API}/audit-logs", params={"q": q, "page_size": 100})
            assert r.status_code == 200, (q, r.text)
            return sorted(e["id"] for e in r.json())

        everything = ops(f"op_time=[{yesterday}T00:00:00~{tomorrow}T23:59:59]")
        assert everything  # the module's own logins and creations
        assert ops(f"op_time=[{yesterday} 00:00:00~{tomorrow} 23:59:59]") == everything
        assert ops(f"op_time=[{yesterday}~{tomorrow}]") == everything
        assert ops(f"op_time=[{tomorrow} 00:00:00~]") == []
        check_error(admin.get(f"{API}/audit-logs", params={"q": "op_time=[soon~later]"}), 400,
                    "BAD_REQUEST")  # fmt: skip
