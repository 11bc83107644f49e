"""Errors name the problem and the fix: unknown host, TLS, 401, manifest unknown, 429;
credentials in docker's config.json and through a docker-credential helper; mirrors."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from _infra import RunningRegistry, run_command, run_dockyard
from _infra.client_helpers import PASSWORD, USER, make_image
from _infra.proxy import misbehaving_proxy
from dockyard.client import ClientOptions, Credentials, CredentialStore, RegistryClient
from dockyard.errors import RateLimited
from dockyard.reference import Reference


def test_unknown_host(dockyard_root: Path, docker_config: Path) -> None:
    out = run_dockyard("pull", "no-such-host.invalid/app:1", root=dockyard_root, check=False)
    assert out.returncode == 1
    assert "unknown host 'no-such-host.invalid'" in out.stderr


def test_tls_failure_suggests_tls_verify_false_for_local_registry(
    registry: RunningRegistry, dockyard_root: Path, docker_config: Path
) -> None:
    out = run_dockyard(
        "pull", "--tls-verify=true", f"{registry.host}/x:1", root=dockyard_root, check=False
    )
    assert out.returncode == 1
    assert "TLS handshake" in out.stderr and "--tls-verify=false" in out.stderr


def test_manifest_unknown(
    registry: RunningRegistry, dockyard_root: Path, docker_config: Path
) -> None:
    out = run_dockyard("pull", f"{registry.host}/nothing/here:1", root=dockyard_root, check=False)
    assert out.returncode == 1
    assert "manifest unknown" in out.stderr and "dockyard tags" in out.stderr


def test_unauthorized_suggests_login(
    auth_registry: RunningRegistry, dockyard_root: Path, docker_config: Path
) -> None:
    out = run_dockyard("push", f"{auth_registry.host}/a/b:1", root=dockyard_root, check=False)
    assert out.returncode == 1  # no such local image
    make_image(dockyard_root, f"{auth_registry.host}/a/b:1")
    out = run_dockyard("push", f"{auth_registry.host}/a/b:1", root=dockyard_root, check=False)
    assert out.returncode == 1
    assert "authentication required" in out.stderr
    assert f"dockyard login {auth_registry.host}" in out.stderr


def test_rate_limit_shows_retry_after(registry: RunningRegistry, docker_config: Path) -> None:
    # docker-registry does not rate limit; the proxy answers 429 with Retry-After: 120
    with misbehaving_proxy(registry.host, "ratelimit") as proxy:
        client = RegistryClient(ClientOptions(retries=1))
        with pytest.raises(RateLimited) as caught:
            client.source(Reference.parse(f"{proxy.host}/a/b:1")).root()
    assert caught.value.retry_after == 120
    assert "retry after 120 s" in str(caught.value)


@pytest.mark.slow
def test_credentials_are_docker_compatible(
    auth_registry: RunningRegistry, dockyard_root: Path, docker_config: Path, tmp_path: Path
) -> None:
    run_dockyard(
        "login",
        "-u",
        USER,
        "--password-stdin",
        auth_registry.host,
        root=dockyard_root,
        input=PASSWORD,
    )
    # skopeo reads the same file
    ref = f"{auth_registry.host}/shared/app:1"
    make_image(dockyard_root, ref)
    run_dockyard("push", "-q", ref, root=dockyard_root)
    run_command(
        [
            "skopeo",
            "inspect",
            "--tls-verify=false",
            "--authfile",
            str(docker_config / "config.json"),
            f"docker://{ref}",
        ]
    )
    store = CredentialStore(docker_config)
    assert store.get(auth_registry.host) == Credentials(USER, PASSWORD)


@pytest.mark.slow
def test_credential_helper_protocol(
    auth_registry: RunningRegistry,
    dockyard_root: Path,
    docker_config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No real credential helper can run here (they need a desktop keyring or pass/gpg): this
    # stand-in speaks the docker-credential-helpers protocol over a JSON file.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    secrets = tmp_path / "secrets.json"
    helper = bindir / "docker-credential-dytest"
    helper.write_text(
        f"""#!/usr/bin/env python3
import json, sys
path = {str(secrets)!r}
try:
    data = json.load(open(path))
except FileNotFoundError:
    data = {{}}
action = sys.argv[1]
body = sys.stdin.read()
if action == "store":
    item = json.loads(body)
    data[item["ServerURL"]] = [item["Username"], item["Secret"]]
    json.dump(data, open(path, "w"))
elif action == "get":
    if body.strip() not in data:
        print("credentials not found in native keychain"); sys.exit(1)
    user, secret = data[body.strip()]
    print(json.dumps({{"ServerURL": body.strip(), "Username": user, "Secret": secret}}))
elif action == "erase":
    data.pop(body.strip(), None)
    json.dump(data, open(path, "w"))
"""
    )
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    (docker_config / "config.json").write_text(json.dumps({"credsStore": "dytest"}))
    out = run_dockyard(
        "login",
        "-u",
        USER,
        "--password-stdin",
        auth_registry.host,
        root=dockyard_root,
        input=PASSWORD,
    )
    assert "docker-credential-dytest" in out.stderr
    assert json.loads(secrets.read_text())[auth_registry.host] == [USER, PASSWORD]
    config = json.loads((docker_config / "config.json").read_text())
    assert config["auths"][auth_registry.host] == {}  # no secret in the file
    ref = f"{auth_registry.host}/helper/app:1"
    make_image(dockyard_root, ref)
    run_dockyard("push", "-q", ref, root=dockyard_root)
    run_dockyard("logout", auth_registry.host, root=dockyard_root)
    assert auth_registry.host not in json.loads(secrets.read_text())


@pytest.mark.slow
def test_pull_tries_mirrors_first(
    registry: RunningRegistry, dockyard_root: Path, docker_config: Path, tmp_path: Path
) -> None:
    # the mirror holds docker.io/library/mirrored; Docker Hub itself is unreachable here
    make_image(dockyard_root, f"{registry.host}/library/mirrored:1")
    run_dockyard("push", "-q", f"{registry.host}/library/mirrored:1", root=dockyard_root)
    config = tmp_path / "registries.json"
    config.write_text(json.dumps({"registry-mirrors": [f"http://{registry.host}"]}))
    other = tmp_path / "other"
    out = run_dockyard("pull", "--registries-config", str(config), "mirrored:1", root=other)
    assert "docker.io/library/mirrored:1" in out.stdout
    assert "mirrored" in run_dockyard("images", root=other).stdout
