"""Real registries for the client tests: Debian's docker-registry without auth, with htpasswd,
and with Docker token auth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra import RunningRegistry, docker_registry
from _infra.token_server import TokenServer, token_server

USER, PASSWORD = "alice", "s3cret-pass"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """docker-registry (distribution 2.8) on 127.0.0.1, no auth."""
    with docker_registry(tmp_path_factory.mktemp("registry")) as running:
        yield running


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """docker-registry with htpasswd (bcrypt) auth for ``alice``."""
    with docker_registry(
        tmp_path_factory.mktemp("auth-registry"), user=USER, password=PASSWORD
    ) as running:
        yield running


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty $DOCKER_CONFIG for this test (login writes config.json here)."""
    path = tmp_path / "docker-config"
    path.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(path))
    monkeypatch.setenv("DOCKYARD_REGISTRIES_CONFIG", str(tmp_path / "no-registries.json"))
    return path


#: the token server's users and ACL: alice pushes to tok/ and public/, only pulls locked/;
#: anyone (no credentials) pulls public/
TOKEN_USERS = {USER: PASSWORD}
TOKEN_ACL = {
    USER: [
        ("tok/", frozenset({"pull", "push"})),
        ("public/", frozenset({"pull", "push"})),
        ("locked/", frozenset({"pull"})),
    ],
    "": [("public/", frozenset({"pull"}))],
}


@pytest.fixture(scope="module")
def token_auth(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TokenServer, RunningRegistry]]:
    """docker-registry enforcing Docker token auth, with the test token server it trusts."""
    root = tmp_path_factory.mktemp("token-auth")
    with (
        token_server(root / "token", TOKEN_USERS, TOKEN_ACL) as tokens,
        docker_registry(root / "registry", token=tokens.registry_auth()) as running,
    ):
        yield tokens, running
