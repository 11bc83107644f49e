"""Real clients through dockyard's token service: docker, podman, skopeo; and distribution
2.8.2 trusting dockyard's tokens (``auth.token`` realm → ``/service/token``)."""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _infra import BUSYBOX_REF, BuiltImage, DockerDaemon, Podman
from _infra._process import run_command
from _infra._registry import docker_registry
from _infra.registry_server import start_registry
from _infra.token_registry import (
    ISSUER,
    SERVICE,
    AclGranter,
    TokenRegistry,
    token_config_env,
    token_registry,
)

pytestmark = pytest.mark.slow

USERS = {"alice": "alice-pw", "reader": "reader-pw"}
ACL = {"alice": {"": {"pull", "push", "delete"}}, "reader": {"": {"pull"}}}


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[TokenRegistry]:
    with token_registry(tmp_path / "reg", USERS, AclGranter(USERS, ACL)) as running:
        yield running


def _docker(
    dockerd: DockerDaemon, config: Path, *args: str, check: bool = True, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return dockerd.run("--config", str(config), *args, check=check, input=input)


def test_docker_login_push_pull_with_identity_token(
    registry: TokenRegistry, dockerd: DockerDaemon, busybox_image: BuiltImage, tmp_path: Path
) -> None:
    config = tmp_path / "docker-config"
    config.mkdir()
    bad = _docker(dockerd, config, "login", registry.host, "-u", "alice", "--password-stdin",
                  input="wrong", check=False)  # fmt: skip
    assert bad.returncode != 0
    out = _docker(dockerd, config, "login", registry.host, "-u", "alice", "--password-stdin",
                  input="alice-pw").stdout  # fmt: skip
    assert "Login Succeeded" in out
    # docker kept the refresh token as its identity token, not the password
    assert "identitytoken" in (config / "config.json").read_text()
    ref = f"{registry.host}/team/app:1"
    dockerd.run("tag", BUSYBOX_REF, ref)
    _docker(dockerd, config, "push", ref)
    dockerd.run("rmi", ref)
    _docker(dockerd, config, "pull", ref)
    dockerd.run("rmi", ref)
    # a pull-only user: pull works, push is refused
    reader = tmp_path / "reader-config"
    reader.mkdir()
    _docker(dockerd, reader, "login", registry.host, "-u", "reader", "--password-stdin",
            input="reader-pw")  # fmt: skip
    _docker(dockerd, reader, "pull", ref)
    refused = _docker(dockerd, reader, "push", ref, check=False)
    assert refused.returncode != 0
    assert "denied" in refused.stderr or "unauthorized" in refused.stderr.lower()
    dockerd.run("rmi", ref)


def test_podman_and_skopeo_through_the_token_service(
    registry: TokenRegistry, podman: Podman, busybox_image: BuiltImage, tmp_path: Path,
    dockerd: DockerDaemon,
) -> None:  # fmt: skip
    archive = tmp_path / "busybox.tar"
    dockerd.run("save", "-o", str(archive), BUSYBOX_REF)
    host = registry.host
    run_command(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds",
                 "alice:alice-pw", f"docker-archive:{archive}", f"docker://{host}/team/sk:1"])  # fmt: skip
    refused = run_command(
        ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", "reader:reader-pw",
         f"docker-archive:{archive}", f"docker://{host}/team/sk:2"], check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    run_command(["skopeo", "copy", "--quiet", "--src-tls-verify=false", "--src-creds",
                 "reader:reader-pw", f"docker://{host}/team/sk:1", f"dir:{tmp_path / 'out'}"])  # fmt: skip
    assert (tmp_path / "out" / "manifest.json").exists()

    bad = podman.run("login", "--tls-verify=false", "-u", "alice", "-p", "nope", host, check=False)
    assert bad.returncode != 0
    podman.run("login", "--tls-verify=false", "-u", "alice", "-p", "alice-pw", host)
    podman.run("pull", "--tls-verify=false", f"{host}/team/sk:1")
    podman.run("tag", f"{host}/team/sk:1", f"{host}/team/pm:1")
    podman.run("push", "--tls-verify=false", f"{host}/team/pm:1")
    podman.run("rmi", "-a", "-f")
    podman.run("pull", "--tls-verify=false", f"{host}/team/pm:1")


def test_distribution_trusts_dockyards_tokens_and_enforces_their_scopes(
    registry: TokenRegistry, tmp_path: Path, busybox_image: BuiltImage, dockerd: DockerDaemon
) -> None:
    auth = {
        "realm": f"{registry.url}/service/token",
        "service": SERVICE,
        "issuer": ISSUER,
        "rootcertbundle": str(registry.cert),
    }
    archive = tmp_path / "busybox.tar"
    dockerd.run("save", "-o", str(archive), BUSYBOX_REF)
    with docker_registry(tmp_path / "dist", token=auth) as dist:
        target = f"docker://{dist.host}/team/app:1"
        run_command(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds",
                     "alice:alice-pw", f"docker-archive:{archive}", target])  # fmt: skip
        run_command(["skopeo", "inspect", "--tls-verify=false", "--creds", "reader:reader-pw",
                     target])  # fmt: skip
        refused = run_command(
            ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds",
             "reader:reader-pw", f"docker-archive:{archive}", f"docker://{dist.host}/team/app:2"],
            check=False,
        )  # fmt: skip
        assert refused.returncode != 0
        assert "unauthorized" in refused.stderr.lower() or "denied" in refused.stderr.lower()
        anonymous = run_command(
            ["skopeo", "inspect", "--tls-verify=false", "--no-creds", target], check=False
        )
        assert anonymous.returncode != 0


def test_served_process_shares_one_signing_key_across_workers(tmp_path: Path) -> None:
    env = token_config_env(tmp_path / "cfg", {"u": "p"})
    with start_registry(tmp_path / "data", "--workers", "2", env=env) as server:
        r = httpx.get(f"{server.url}/v2/_catalog")
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == (
            f'Bearer realm="{server.url}/service/token",service="{SERVICE}",'
            'scope="registry:catalog:*"'
        )
        got = httpx.get(
            f"{server.url}/service/token",
            params={"service": SERVICE, "scope": "registry:catalog:*"},
            auth=("u", "p"),
        )
        token = got.json()["token"]
        for _ in range(8):  # new connections: the kernel spreads them over both workers
            with httpx.Client() as client:
                r = client.get(
                    f"{server.url}/v2/_catalog", headers={"authorization": f"Bearer {token}"}
                )
                assert r.status_code == 200, r.text
    key = tmp_path / "data" / "token" / "signing-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
