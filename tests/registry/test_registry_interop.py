"""Real clients against a real ``dockyard registry serve`` process on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from _infra import BuiltImage, DockerDaemon, run_command
from _infra.registry_server import RegistryProcess, sha256

pytestmark = pytest.mark.docker


def _skopeo(*args: str) -> str:
    result = run_command(["skopeo", *args], timeout=300)
    return str(result.stdout)


def test_served_pages(registry_server: RegistryProcess) -> None:
    r = httpx.get(f"{registry_server.url}/")
    assert r.status_code == 200 and "docker push" in r.text
    assert httpx.get(f"{registry_server.url}/healthz").json() == {"status": "ok"}
    r = httpx.get(f"{registry_server.url}/v2/")
    assert r.headers["docker-distribution-api-version"] == "registry/2.0"
    log = registry_server.log.read_text()
    assert f"listening on http://{registry_server.host}" in log


def test_docker_push_pull(
    registry_server: RegistryProcess, dockerd: DockerDaemon, multilayer_image: BuiltImage
) -> None:
    target = f"{registry_server.host}/dockyard-test/multi:v1"
    dockerd.run("tag", multilayer_image.ref, target)
    dockerd.run("push", target)
    catalog = httpx.get(f"{registry_server.url}/v2/_catalog").json()
    assert "dockyard-test/multi" in catalog["repositories"]
    tags = httpx.get(f"{registry_server.url}/v2/dockyard-test/multi/tags/list").json()
    assert tags["tags"] == ["v1"]
    # push again: every layer already exists (HEAD), nothing is uploaded twice
    again = dockerd.run("push", target).stdout
    assert "Layer already exists" in again
    dockerd.run("rmi", target)
    dockerd.run("pull", target)
    pulled = dockerd.run("image", "inspect", "--format", "{{.Id}}", target).stdout.strip()
    assert pulled == multilayer_image.id
    dockerd.run("rmi", target)


def test_skopeo_copy_both_ways(
    registry_server: RegistryProcess,
    dockerd: DockerDaemon,
    multilayer_image: BuiltImage,
    tmp_path: Path,
) -> None:
    remote = f"docker://{registry_server.host}/skopeo/multi:latest"
    _skopeo(
        "copy", "--quiet", "--src-daemon-host", dockerd.host, "--dest-tls-verify=false",
        f"docker-daemon:{multilayer_image.ref}", remote,
    )  # fmt: skip
    layout = tmp_path / "layout"
    _skopeo("copy", "--quiet", "--src-tls-verify=false", remote, f"oci:{layout}:t")
    # OCI layout → registry under another name (OCI media types this time), then inspect it
    remote_oci = f"docker://{registry_server.host}/skopeo/oci-copy:t"
    _skopeo("copy", "--quiet", "--dest-tls-verify=false", f"oci:{layout}:t", remote_oci)
    info = json.loads(_skopeo("inspect", "--tls-verify=false", remote_oci))
    assert len(info["Layers"]) == len(
        json.loads(_skopeo("inspect", "--tls-verify=false", remote))["Layers"]
    )
    raw = _skopeo("inspect", "--raw", "--tls-verify=false", remote_oci).encode()
    digest = httpx.head(
        f"{registry_server.url}/v2/skopeo/oci-copy/manifests/t",
        headers={"accept": "application/vnd.oci.image.manifest.v1+json"},
    ).headers["docker-content-digest"]
    assert sha256(raw) == digest
    # and back into docker from the registry
    back = "dockyard-test/from-registry:skopeo"
    _skopeo(
        "copy", "--quiet", "--src-tls-verify=false", "--dest-daemon-host", dockerd.host,
        remote, f"docker-daemon:{back}",
    )  # fmt: skip
    assert dockerd.run("image", "inspect", "--format", "{{.Id}}", back).stdout.strip() == (
        multilayer_image.id
    )
    dockerd.run("rmi", back)


def test_skopeo_multi_arch_index(registry_server: RegistryProcess, tmp_path: Path) -> None:
    """An OCI index whose children are pushed with it keeps them (copy --all)."""
    layout = tmp_path / "idx"
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> dict[str, object]:
        (blobs / sha256(data)[7:]).write_bytes(data)
        return {"digest": sha256(data), "size": len(data)}

    manifests = []
    for arch in ("amd64", "arm64"):
        config = put(
            json.dumps(
                {"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
            ).encode()
        )
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                "layers": [],
            }
        ).encode()
        manifests.append(
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **put(manifest),
                "platform": {"architecture": arch, "os": "linux"},
            }
        )
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        }
    ).encode()
    top = put(index)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (layout / "index.json").write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        **top,
                        "annotations": {"org.opencontainers.image.ref.name": "t"},
                    }
                ],
            }
        )
    )
    remote = f"docker://{registry_server.host}/multi/arch:all"
    _skopeo("copy", "--quiet", "--all", "--dest-tls-verify=false", f"oci:{layout}:t", remote)
    got = httpx.get(f"{registry_server.url}/v2/multi/arch/manifests/all")
    assert got.content == index
    for m in manifests:
        assert (
            httpx.head(f"{registry_server.url}/v2/multi/arch/manifests/{m['digest']}").status_code
            == 200
        )
    out = tmp_path / "back"
    _skopeo("copy", "--quiet", "--all", "--src-tls-verify=false", remote, f"oci:{out}:t")
    assert json.loads((out / "index.json").read_text())["manifests"][0]["digest"] == top["digest"]
