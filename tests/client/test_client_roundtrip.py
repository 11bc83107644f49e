"""dockyard push/pull against docker-registry with htpasswd auth, interoperating with docker
and skopeo in both directions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _infra import (
    MULTILAYER_REF,
    BuiltImage,
    DockerDaemon,
    RunningRegistry,
    run_command,
    run_dockyard,
)
from _infra.client_helpers import PASSWORD, USER, make_image, manifest_digest


def _docker(dockerd: DockerDaemon, config: Path, *args: str, input: str | None = None) -> str:
    out = dockerd.run("--config", str(config), *args, input=input)
    return str(out.stdout)


def test_push_to_docker_and_skopeo_and_back(
    auth_registry: RunningRegistry,
    dockerd: DockerDaemon,
    multilayer_image: BuiltImage,
    dockyard_root: Path,
    docker_config: Path,
    tmp_path: Path,
) -> None:
    host = auth_registry.host
    # docker push → dockyard pull (with login)
    _docker(dockerd, docker_config, "login", host, "-u", USER, "--password-stdin", input=PASSWORD)
    docker_cfg = docker_config  # docker and dockyard share the same config.json
    src = f"{host}/rt/from-docker:1"
    dockerd.run("tag", MULTILAYER_REF, src)
    _docker(dockerd, docker_cfg, "push", src)
    login = run_dockyard(
        "login", "-u", USER, "--password-stdin", host, root=dockyard_root, input=PASSWORD
    )
    assert "Login Succeeded" in login.stdout
    config = json.loads((docker_config / "config.json").read_text())
    assert host in config["auths"] and config["auths"][host]["auth"]

    pulled = run_dockyard("pull", src, root=dockyard_root)
    assert "Status: Downloaded newer image" in pulled.stdout
    images = run_dockyard("images", "--digests", "--format", "json", root=dockyard_root)
    rows = [json.loads(line) for line in images.stdout.splitlines()]
    remote_digest = run_dockyard("digest", src, root=dockyard_root).stdout.strip()
    assert any(r["Digest"] == remote_digest for r in rows), rows

    # dockyard push → docker pull and skopeo copy
    dst = f"{host}/rt/from-dockyard:2"
    run_dockyard("tag", src, dst, root=dockyard_root)
    pushed = run_dockyard("push", dst, root=dockyard_root)
    assert remote_digest in pushed.stdout  # same bytes, same digest
    dockerd.run("rmi", src)
    _docker(dockerd, docker_cfg, "pull", dst)
    run = dockerd.run("run", "--rm", "--network", "none", dst)
    assert "hello from dockyard" in run.stdout
    oci_dir = tmp_path / "skopeo-oci"
    run_command(
        [
            "skopeo",
            "copy",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--src-creds",
            f"{USER}:{PASSWORD}",
            f"docker://{dst}",
            f"oci:{oci_dir}:x",
        ]
    )
    assert manifest_digest(oci_dir, "x") == remote_digest

    # skopeo push → dockyard pull
    back = f"{host}/rt/from-skopeo:3"
    run_command(
        [
            "skopeo",
            "copy",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--src-creds",
            f"{USER}:{PASSWORD}",
            "--dest-creds",
            f"{USER}:{PASSWORD}",
            f"docker://{dst}",
            f"docker://{back}",
        ]
    )
    assert run_dockyard("pull", "-q", back, root=dockyard_root).stdout.strip() == back
    inspect = run_dockyard("image", "inspect", back, root=dockyard_root)
    assert json.loads(inspect.stdout)[0]["Config"]["Env"]

    # logout: next access is refused with advice to log in
    out = run_dockyard("logout", host, root=dockyard_root)
    assert f"Removing login credentials for {host}" in out.stdout
    denied = run_dockyard("pull", back, root=dockyard_root, check=False)
    assert denied.returncode == 1
    assert f"dockyard login {host}" in denied.stderr


def test_login_with_wrong_password_fails(
    auth_registry: RunningRegistry, dockyard_root: Path, docker_config: Path
) -> None:
    out = run_dockyard(
        "login",
        "-u",
        USER,
        "--password-stdin",
        auth_registry.host,
        root=dockyard_root,
        input="wrong",
        check=False,
    )
    assert out.returncode == 1
    assert "refused user 'alice'" in out.stderr
    assert not (docker_config / "config.json").exists()


@pytest.mark.slow
def test_push_pull_plain_registry_and_commands(
    registry: RunningRegistry, dockyard_root: Path, docker_config: Path, tmp_path: Path
) -> None:
    ref = f"{registry.host}/plain/app:v1"
    make_image(dockyard_root, ref)
    digest = run_dockyard("push", "-q", ref, root=dockyard_root).stdout.strip()
    run_dockyard("tag", ref, f"{registry.host}/plain/app:v2", root=dockyard_root)
    run_dockyard("push", "-q", f"{registry.host}/plain/app:v2", root=dockyard_root)
    tags = run_dockyard(
        "tags", "--format", "json", f"{registry.host}/plain/app", root=dockyard_root
    )
    assert json.loads(tags.stdout)["Tags"] == ["v1", "v2"]
    paged = run_dockyard(
        "tags", "--page-size", "1", f"{registry.host}/plain/app", root=dockyard_root
    )
    assert paged.stdout.split() == ["v1", "v2"]
    assert run_dockyard("digest", ref, root=dockyard_root).stdout.strip() == digest
    raw = run_dockyard("manifest", "inspect", ref, root=dockyard_root).stdout
    assert json.loads(raw)["schemaVersion"] == 2
    verbose = json.loads(
        run_dockyard("manifest", "inspect", "--verbose", ref, root=dockyard_root).stdout
    )
    assert verbose["Descriptor"]["digest"] == digest

    other = tmp_path / "other-root"
    run_dockyard("pull", ref, root=other)
    summary = run_dockyard("images", "--digests", root=other).stdout
    assert digest in summary

    deleted = run_dockyard("delete", ref, root=dockyard_root)
    assert digest in deleted.stdout
    gone = run_dockyard("manifest", "inspect", ref, root=dockyard_root, check=False)
    assert gone.returncode == 1 and "manifest unknown" in gone.stderr
