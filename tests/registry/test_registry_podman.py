"""podman push/pull against a real ``dockyard registry serve``: plain, with htpasswd, and a
multi-arch index (podman as root with vfs storage under a temp dir, no networking)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import httpx
import pytest

from _infra import Podman, run_command, run_dockyard
from _infra.oci_layout import gzip_tar, oci_layout
from _infra.registry_server import start_registry

OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def _remote_digest(url: str, name: str, tag: str, **kw: object) -> str:
    accept = "application/vnd.oci.image.manifest.v1+json," + OCI_INDEX
    r = httpx.head(f"{url}/v2/{name}/manifests/{tag}", headers={"accept": accept}, **kw)  # type: ignore[arg-type]
    assert r.status_code == 200, r.text
    return str(r.headers["docker-content-digest"])


@pytest.mark.slow
def test_podman_push_pull(podman: Podman, tmp_path: Path) -> None:
    layers = [gzip_tar(f"f{i}", os.urandom(50_000)) for i in range(3)]
    oci_layout(tmp_path / "src", layers)
    with start_registry(tmp_path / "data") as server:
        image_id = podman.run("pull", "-q", f"oci:{tmp_path}/src:t").stdout.strip()
        remote = f"{server.host}/podman/app:1"
        podman.run("push", "-q", "--tls-verify=false", image_id, f"docker://{remote}")
        pushed = _remote_digest(server.url, "podman/app", "1")
        podman.run("rmi", "-a", "-f")
        # pulled back into podman's store, verified against the layers' diff_ids
        podman.run("pull", "-q", "--tls-verify=false", remote)
        inspect = json.loads(podman.run("image", "inspect", remote).stdout)[0]
        assert inspect["Id"] == image_id and inspect["Digest"] == pushed
        assert len(inspect["RootFS"]["Layers"]) == 3
        # podman pushes what it pulled to a second repository
        podman.run(
            "push", "-q", "--tls-verify=false", remote, f"docker://{server.host}/podman/copy:2"
        )
        assert httpx.get(f"{server.url}/v2/podman/copy/tags/list").json()["tags"] == ["2"]
        assert _remote_digest(server.url, "podman/copy", "2") == pushed
        # every layer podman uploaded (it compresses them again) is served intact
        accept = {"accept": "application/vnd.oci.image.manifest.v1+json,"
                  "application/vnd.docker.distribution.manifest.v2+json"}  # fmt: skip
        manifest = httpx.get(f"{server.url}/v2/podman/app/manifests/1", headers=accept).json()
        assert len(manifest["layers"]) == 3
        for layer in manifest["layers"]:
            blob = httpx.get(f"{server.url}/v2/podman/app/blobs/{layer['digest']}").content
            assert "sha256:" + hashlib.sha256(blob).hexdigest() == layer["digest"]


@pytest.mark.slow
def test_podman_with_htpasswd(podman: Podman, tmp_path: Path) -> None:
    htpasswd = tmp_path / "htpasswd"
    run_dockyard("htpasswd", "-Bbc", htpasswd, "alice", "s3cret", root=tmp_path / "store")
    env = {
        "REGISTRY_AUTH": "htpasswd",
        "REGISTRY_AUTH_HTPASSWD_REALM": "Registry Realm",
        "REGISTRY_AUTH_HTPASSWD_PATH": os.fspath(htpasswd),
    }
    oci_layout(tmp_path / "src", [gzip_tar("f", os.urandom(10_000))])
    image_id = podman.run("pull", "-q", f"oci:{tmp_path}/src:t").stdout.strip()
    with start_registry(tmp_path / "data", env=env) as server:
        remote = f"{server.host}/private/app:1"
        denied = podman.run(
            "push", "-q", "--tls-verify=false", image_id, f"docker://{remote}", check=False
        )
        assert denied.returncode != 0
        assert "authentication required" in denied.stderr or "unauthorized" in denied.stderr.lower()
        wrong = podman.run(
            "login", "--tls-verify=false", "-u", "alice", "-p", "wrong", server.host, check=False
        )
        assert wrong.returncode != 0
        podman.run("login", "--tls-verify=false", "-u", "alice", "-p", "s3cret", server.host)
        podman.run("push", "-q", "--tls-verify=false", image_id, f"docker://{remote}")
        podman.run("rmi", "-a", "-f")
        podman.run("pull", "-q", "--tls-verify=false", remote)
        podman.run("logout", server.host)
        after = podman.run("pull", "-q", "--tls-verify=false", remote, check=False)
        assert after.returncode != 0
        assert httpx.get(f"{server.url}/v2/private/app/tags/list").status_code == 401
        r = httpx.get(f"{server.url}/v2/private/app/tags/list", auth=("alice", "s3cret"))
        assert r.json()["tags"] == ["1"]


@pytest.mark.slow
def test_podman_pulls_each_platform_of_an_index(podman: Podman, tmp_path: Path) -> None:
    for arch in ("amd64", "arm64"):
        oci_layout(tmp_path / arch, [gzip_tar(arch, arch.encode() * 1000)], arch=arch)
    with start_registry(tmp_path / "data") as server:
        remote = f"{server.host}/multi/app:all"
        # a manifest list made by podman itself, pushed with all its images
        podman.run("manifest", "create", "localhost/list:all")
        for arch in ("amd64", "arm64"):
            podman.run(
                "manifest", "add", "--arch", arch, "localhost/list:all", f"oci:{tmp_path}/{arch}:t"
            )
        podman.run(
            "manifest",
            "push",
            "-q",
            "--all",
            "--tls-verify=false",
            "localhost/list:all",
            f"docker://{remote}",
        )
        raw = json.loads(
            run_command(
                ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{remote}"]
            ).stdout
        )
        assert sorted(m["platform"]["architecture"] for m in raw["manifests"]) == ["amd64", "arm64"]
        for arch in ("arm64", "amd64"):
            podman.run("pull", "-q", "--tls-verify=false", "--arch", arch, remote)
            info = json.loads(podman.run("image", "inspect", remote).stdout)[0]
            assert info["Architecture"] == arch
