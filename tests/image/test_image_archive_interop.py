"""docker save ⇄ dockyard load, dockyard save ⇄ docker load, OCI archives ⇄ skopeo — all real."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from _infra import MULTI, BuiltImage, DockerDaemon, run_command, run_dockyard, save_image

pytestmark = [pytest.mark.docker]


def _tool(*argv: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_command(list(argv), input=input)


def _docker_layers(dockerd: DockerDaemon, ref: str) -> list[str]:
    out = dockerd.run("image", "inspect", "-f", "{{json .RootFS.Layers}}", ref).stdout
    layers: list[str] = json.loads(out)
    return layers


def _inspect(root: Path, ref: str) -> dict[str, object]:
    data = json.loads(run_dockyard("inspect", ref, root=root).stdout)
    assert isinstance(data, list) and len(data) == 1
    obj: dict[str, object] = data[0]
    return obj


def test_docker_save_loads_with_same_id_and_layers(
    dockerd: DockerDaemon, multilayer_image: BuiltImage, dockyard_root: Path, tmp_path: Path
) -> None:
    archive = save_image(dockerd, multilayer_image.ref, tmp_path / "multi.tar")
    out = run_dockyard("load", "-i", str(archive), root=dockyard_root).stdout
    assert f"Loaded image: {multilayer_image.ref}" in out
    info = _inspect(dockyard_root, multilayer_image.ref)
    assert info["Id"] == multilayer_image.id
    assert info["RootFS"] == {
        "Type": "layers",
        "Layers": _docker_layers(dockerd, multilayer_image.ref),
    }
    config = info["Config"]
    assert isinstance(config, dict)
    assert config["Entrypoint"] == list(MULTI.entrypoint)
    # by ID prefix too, like docker
    short = multilayer_image.id.removeprefix("sha256:")[:12]
    assert run_dockyard("images", "-q", root=dockyard_root).stdout.split() == [short]


def test_load_from_stdin(
    dockerd: DockerDaemon, busybox_image: BuiltImage, dockyard_root: Path, tmp_path: Path
) -> None:
    archive = save_image(dockerd, busybox_image.ref, tmp_path / "bb.tar")
    out = run_dockyard("load", root=dockyard_root, input=archive.read_bytes(), text=False).stdout
    assert f"Loaded image: {busybox_image.ref}".encode() in out
    assert _inspect(dockyard_root, busybox_image.ref)["Id"] == busybox_image.id


def test_dockyard_save_runs_under_docker(
    dockerd: DockerDaemon, multilayer_image: BuiltImage, dockyard_root: Path, tmp_path: Path
) -> None:
    archive = save_image(dockerd, multilayer_image.ref, tmp_path / "in.tar")
    run_dockyard("load", "-i", str(archive), root=dockyard_root)
    run_dockyard("tag", multilayer_image.ref, "roundtrip/multi:v1", root=dockyard_root)
    out_tar = tmp_path / "out.tar"
    run_dockyard("save", "-o", str(out_tar), "roundtrip/multi:v1", root=dockyard_root)
    loaded = dockerd.run("load", "-i", str(out_tar)).stdout
    assert "roundtrip/multi:v1" in loaded
    assert dockerd.run(
        "image", "inspect", "-f", "{{.Id}}", "roundtrip/multi:v1"
    ).stdout.strip() == (multilayer_image.id)
    ran = dockerd.run("run", "--rm", "--network", "none", "roundtrip/multi:v1").stdout
    assert ran == MULTI.small_text
    dockerd.run("rmi", "roundtrip/multi:v1")


def test_save_to_stdout_loads_in_docker(
    dockerd: DockerDaemon, busybox_image: BuiltImage, dockyard_root: Path, tmp_path: Path
) -> None:
    run_dockyard(
        "load",
        "-i",
        str(save_image(dockerd, busybox_image.ref, tmp_path / "bb.tar")),
        root=dockyard_root,
    )
    run_dockyard("tag", busybox_image.ref, "stdout/bb:1", root=dockyard_root)
    data = run_dockyard("save", "stdout/bb:1", root=dockyard_root, text=False).stdout
    assert isinstance(data, bytes) and len(data) > 100_000
    dockerd.run("load", input=data, text=False)
    ran = dockerd.run("run", "--rm", "--network", "none", "stdout/bb:1", "echo", "hi").stdout
    assert ran.strip() == "hi"
    dockerd.run("rmi", "stdout/bb:1")


def test_oci_archive_round_trip_with_skopeo(
    dockerd: DockerDaemon, multilayer_image: BuiltImage, dockyard_root: Path, tmp_path: Path
) -> None:
    # skopeo writes an OCI archive from docker's own export (converting the config to OCI, so
    # the image ID changes); dockyard loads it with every digest kept
    docker_tar = save_image(dockerd, multilayer_image.ref, tmp_path / "d.tar")
    oci_in = tmp_path / "skopeo.oci.tar"
    _tool("skopeo", "copy", f"docker-archive:{docker_tar}", f"oci-archive:{oci_in}:multi:v2")
    skopeo_digest = json.loads(
        _tool("skopeo", "inspect", "--raw", f"oci-archive:{oci_in}").stdout or "{}"
    )
    assert skopeo_digest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    manifest_digest = _tool(
        "skopeo",
        "manifest-digest",
        "/dev/stdin",
        input=_tool("skopeo", "inspect", "--raw", f"oci-archive:{oci_in}").stdout,
    ).stdout.strip()
    loaded = run_dockyard("load", "-i", str(oci_in), root=dockyard_root).stdout
    assert "Loaded image: multi:v2" in loaded
    info = _inspect(dockyard_root, "multi:v2")
    assert info["Id"] == skopeo_digest["config"]["digest"]
    assert info["Descriptor"]["digest"] == manifest_digest  # type: ignore[index]
    assert info["RootFS"]["Layers"] == _docker_layers(dockerd, multilayer_image.ref)  # type: ignore[index]
    # dockyard writes an OCI archive; skopeo reads it and gets the same manifest digest back
    run_dockyard("tag", "multi:v2", "oci/multi:v3", root=dockyard_root)
    oci_out = tmp_path / "dockyard.oci.tar"
    run_dockyard("save", "--format", "oci", "-o", str(oci_out), "oci/multi:v3", root=dockyard_root)
    raw = _tool("skopeo", "inspect", "--raw", f"oci-archive:{oci_out}").stdout
    assert _tool("skopeo", "manifest-digest", "/dev/stdin", input=raw).stdout.strip() == (
        manifest_digest
    )
    layout = tmp_path / "layout"
    _tool("skopeo", "copy", f"oci-archive:{oci_out}", f"oci:{layout}:copied")
    cfg = json.loads(_tool("skopeo", "inspect", "--config", f"oci:{layout}:copied").stdout)
    assert cfg["rootfs"]["diff_ids"] == _docker_layers(dockerd, multilayer_image.ref)


def test_store_is_an_oci_layout_for_skopeo_and_umoci(
    dockerd: DockerDaemon, multilayer_image: BuiltImage, dockyard_root: Path, tmp_path: Path
) -> None:
    archive = save_image(dockerd, multilayer_image.ref, tmp_path / "m.tar")
    run_dockyard("load", "-i", str(archive), root=dockyard_root)
    full = "docker.io/" + multilayer_image.ref
    inspected = json.loads(_tool("skopeo", "inspect", f"oci:{dockyard_root}:{full}").stdout)
    assert inspected["Layers"]
    config = json.loads(
        _tool("skopeo", "inspect", "--config", f"oci:{dockyard_root}:{full}").stdout
    )
    assert config["rootfs"]["diff_ids"] == _docker_layers(dockerd, multilayer_image.ref)
    listed = _tool("umoci", "ls", "--layout", str(dockyard_root)).stdout.split()
    assert full in listed
    bundle = tmp_path / "bundle"
    _tool("umoci", "raw", "unpack", "--rootless", "--image", f"{dockyard_root}:{full}", str(bundle))
    assert (bundle / "data" / "small.txt").read_text() == MULTI.small_text


def test_concurrent_loads_into_one_store(
    dockerd: DockerDaemon,
    busybox_image: BuiltImage,
    multilayer_image: BuiltImage,
    dockyard_root: Path,
    tmp_path: Path,
) -> None:
    a = save_image(dockerd, busybox_image.ref, tmp_path / "a.tar")
    b = save_image(dockerd, multilayer_image.ref, tmp_path / "b.tar")
    from _infra import dockyard_executable

    env = {"DOCKYARD_ROOT": str(dockyard_root), "PATH": "/usr/bin:/bin"}
    procs = [
        subprocess.Popen(
            [dockyard_executable(), "load", "-q", "-i", str(p)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for p in (a, b, a, b)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    assert _inspect(dockyard_root, busybox_image.ref)["Id"] == busybox_image.id
    assert _inspect(dockyard_root, multilayer_image.ref)["Id"] == multilayer_image.id
    # every blob still verifies: saving both streams every byte through the verifying reader
    run_dockyard(
        "save",
        "-o",
        str(tmp_path / "both.tar"),
        busybox_image.ref,
        multilayer_image.ref,
        root=dockyard_root,
    )
    index = json.loads((dockyard_root / "index.json").read_text())
    names = {m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]}
    assert {"docker.io/" + busybox_image.ref, "docker.io/" + multilayer_image.ref} <= names


def test_several_images_in_one_tar_both_ways(
    dockerd: DockerDaemon,
    busybox_image: BuiltImage,
    multilayer_image: BuiltImage,
    dockyard_root: Path,
    tmp_path: Path,
) -> None:
    both = tmp_path / "both.tar"
    dockerd.run("save", "-o", str(both), busybox_image.ref, multilayer_image.ref)
    out = run_dockyard("load", "-i", str(both), root=dockyard_root).stdout
    assert f"Loaded image: {busybox_image.ref}" in out
    assert f"Loaded image: {multilayer_image.ref}" in out
    run_dockyard("tag", busybox_image.ref, "pair/one:1", root=dockyard_root)
    run_dockyard("tag", multilayer_image.ref, "pair/two:2", root=dockyard_root)
    mine = tmp_path / "mine.tar"
    run_dockyard("save", "-o", str(mine), "pair/one:1", "pair/two:2", root=dockyard_root)
    loaded = dockerd.run("load", "-i", str(mine)).stdout
    assert "pair/one:1" in loaded and "pair/two:2" in loaded
    for ref, want in (("pair/one:1", busybox_image.id), ("pair/two:2", multilayer_image.id)):
        assert dockerd.run("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip() == want
    dockerd.run("rmi", "pair/one:1", "pair/two:2")
