"""Docker token auth against distribution 2.8.2 enforcing it.

The registry is the real one; the token service beside it is a test double of an external
service (``_token_server``: docker's token spec, ES256 JWTs with a libtrust ``kid``), shown to be
right first by docker itself. Then dockyard: login, push, pull, copy with a cross-repository
mount (``from`` scope), token refresh (proactive, and after the registry refuses a token),
a denial naming the repository, and anonymous pull.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from _infra import BUSYBOX_REF, BuiltImage, DockerDaemon, RunningRegistry, run_dockyard
from _infra.client_helpers import PASSWORD, USER, make_image
from _infra.token_server import TokenServer
from dockyard.client import ClientOptions, Credentials, RegistryClient
from dockyard.image.copy import copy
from dockyard.reference import Reference

pytestmark = pytest.mark.slow

TokenAuth = tuple[TokenServer, RunningRegistry]


def _docker(dockerd: DockerDaemon, config: Path, *args: str, input: str | None = None) -> str:
    return str(dockerd.run("--config", str(config), *args, input=input).stdout)


def test_docker_itself_works_with_the_token_server(
    token_auth: TokenAuth, dockerd: DockerDaemon, busybox_image: BuiltImage, tmp_path: Path
) -> None:
    tokens, registry = token_auth
    config = tmp_path / "docker-config"
    config.mkdir()
    out = _docker(
        dockerd, config, "login", registry.host, "-u", USER, "--password-stdin", input=PASSWORD
    )
    assert "Login Succeeded" in out
    ref = f"{registry.host}/tok/from-docker:1"
    dockerd.run("tag", BUSYBOX_REF, ref)
    _docker(dockerd, config, "push", ref)
    dockerd.run("rmi", ref)
    _docker(dockerd, config, "pull", ref)
    assert any(("tok/from-docker", ("pull", "push")) in g.granted for g in tokens.requests_by(USER))
    # the token server grants alice only pull on locked/: the registry refuses docker's push
    locked = f"{registry.host}/locked/from-docker:1"
    dockerd.run("tag", BUSYBOX_REF, locked)
    refused = dockerd.run("--config", str(config), "push", locked, check=False)
    assert refused.returncode != 0
    assert "denied" in refused.stderr or "unauthorized" in refused.stderr.lower()
    dockerd.run("rmi", ref, locked)


@pytest.mark.slow
def test_dockyard_login_push_pull_copy_with_mount(
    token_auth: TokenAuth, dockyard_root: Path, docker_config: Path, tmp_path: Path
) -> None:
    tokens, registry = token_auth
    host = registry.host
    bad = run_dockyard(
        "login", "-u", USER, "--password-stdin", host, root=dockyard_root, input="no", check=False
    )
    assert bad.returncode == 1 and "refused user 'alice'" in bad.stderr
    out = run_dockyard(
        "login", "-u", USER, "--password-stdin", host, root=dockyard_root, input=PASSWORD
    )
    assert "Login Succeeded" in out.stdout
    assert json.loads((docker_config / "config.json").read_text())["auths"][host]["auth"]

    ref = f"{host}/tok/app:1"
    make_image(dockyard_root, ref, files=3)
    digest = run_dockyard("push", "-q", ref, root=dockyard_root).stdout.strip()
    assert digest.startswith("sha256:")
    assert run_dockyard("digest", ref, root=dockyard_root).stdout.strip() == digest
    run_dockyard("rmi", ref, root=dockyard_root)
    pulled = run_dockyard("pull", ref, root=dockyard_root)
    assert "Downloaded newer image" in pulled.stdout

    # registry → registry in the same registry: blobs mounted, the token asked with `from`
    before = len(tokens.requests_by(USER))
    copied = run_dockyard(
        "copy", f"docker://{ref}", f"docker://{host}/tok/copy:1", root=dockyard_root
    )
    assert copied.stdout.strip() == digest
    mount_grants = [
        g
        for g in tokens.requests_by(USER)[before:]
        if ("tok/app", ("pull",)) in g.granted and ("tok/copy", ("pull", "push")) in g.granted
    ]
    assert mount_grants, tokens.requests_by(USER)[before:]
    client = RegistryClient(ClientOptions())
    client.transport.set_credentials(host, Credentials(USER, PASSWORD))
    again = copy(
        client.source(Reference.parse(ref)),
        client.destination(Reference.parse(f"{host}/tok/copy2:1")),
    )
    assert again.mounted and not again.copied and str(again.digest) == digest


def test_push_to_a_repository_the_user_may_only_pull_is_denied_by_name(
    token_auth: TokenAuth, dockyard_root: Path, docker_config: Path
) -> None:
    _, registry = token_auth
    host = registry.host
    run_dockyard("login", "-u", USER, "--password-stdin", host, root=dockyard_root, input=PASSWORD)
    ref = f"{host}/locked/app:1"
    make_image(dockyard_root, ref)
    out = run_dockyard("push", ref, root=dockyard_root, check=False)
    assert out.returncode == 1
    assert "denied" in out.stderr
    assert "user 'alice'" in out.stderr and "'locked/app'" in out.stderr and "push" in out.stderr
    assert "dockyard login" not in out.stderr.split("denied", 1)[1].split("\n")[0]


@pytest.mark.slow
def test_anonymous_pull_where_the_token_server_allows_it(
    token_auth: TokenAuth, dockyard_root: Path, docker_config: Path
) -> None:
    tokens, registry = token_auth
    host = registry.host
    ref = f"{host}/public/app:1"
    make_image(dockyard_root, ref)
    run_dockyard("login", "-u", USER, "--password-stdin", host, root=dockyard_root, input=PASSWORD)
    digest = run_dockyard("push", "-q", ref, root=dockyard_root).stdout.strip()
    run_dockyard("logout", host, root=dockyard_root)
    run_dockyard("rmi", ref, root=dockyard_root)

    # no credentials anywhere: pull works, push is refused with advice to log in
    pulled = run_dockyard("pull", "-q", ref, root=dockyard_root)
    assert pulled.stdout.strip() == ref
    assert run_dockyard("digest", ref, root=dockyard_root).stdout.strip() == digest
    assert any(("public/app", ("pull",)) in g.granted for g in tokens.requests_by(""))
    out = run_dockyard("push", ref, root=dockyard_root, check=False)
    assert out.returncode == 1 and f"dockyard login {host}" in out.stderr
    private = run_dockyard("pull", f"{host}/tok/app:1", root=dockyard_root, check=False)
    assert private.returncode == 1 and f"dockyard login {host}" in private.stderr


@pytest.mark.slow
def test_token_refresh_after_expiry_and_after_the_registry_refuses_it(
    token_auth: TokenAuth, dockyard_root: Path, docker_config: Path
) -> None:
    tokens, registry = token_auth
    host = registry.host
    ref = Reference.parse(f"{host}/tok/refresh:1")
    make_image(dockyard_root, str(ref))
    run_dockyard("login", "-u", USER, "--password-stdin", host, root=dockyard_root, input=PASSWORD)
    run_dockyard("push", "-q", str(ref), root=dockyard_root)
    scope = ("repository:tok/refresh:pull",)

    def token_requests() -> int:
        return sum(1 for g in tokens.requests_by(USER) if g.scopes == scope)

    try:
        # a short announced lifetime: the client renews before using a stale token
        tokens.expires_in = 2
        client = RegistryClient(ClientOptions())
        repo = client.repository(ref)
        start = token_requests()
        repo.get_manifest("1")
        repo.get_manifest("1")
        assert token_requests() == start + 1  # cached while fresh
        time.sleep(1.3)
        repo.get_manifest("1")
        assert token_requests() == start + 2

        # a token the registry stops accepting before its announced expiry (revoked, or a
        # clock ahead): the registry answers 401 invalid_token, the client fetches a new one
        tokens.expires_in, tokens.valid_for = 300, 1
        client = RegistryClient(ClientOptions())
        repo = client.repository(ref)
        start = token_requests()
        desc, _ = repo.get_manifest("1")
        time.sleep(2.2)
        again, _ = repo.get_manifest("1")
        assert again.digest == desc.digest
        assert token_requests() == start + 2
    finally:
        tokens.expires_in, tokens.valid_for = 300, None
