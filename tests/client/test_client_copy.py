"""copy between transports: digests survive every hop; indexes with --all keep theirs."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from _infra import RunningRegistry, run_command, run_dockyard
from _infra.client_helpers import make_image, make_multiarch_layout, manifest_digest
from dockyard.client import ClientOptions, RegistryClient
from dockyard.client import _repository as repository_module
from dockyard.image.copy import copy
from dockyard.image.layout import LayoutSource
from dockyard.reference import Reference

pytestmark = pytest.mark.slow


@pytest.mark.slow
def test_multiarch_index_copied_with_all_keeps_its_digest(
    registry: RunningRegistry, dockyard_root: Path, tmp_path: Path
) -> None:
    layout = tmp_path / "multi-layout"
    index_digest = make_multiarch_layout(layout)
    first = f"docker://{registry.host}/multi/app:1"
    # skopeo puts the index up; dockyard copies it registry → registry and → oci
    run_command(
        [
            "skopeo",
            "copy",
            "--all",
            "--preserve-digests",
            "--dest-tls-verify=false",
            f"oci:{layout}:multi",
            first,
        ]
    )
    second = f"docker://{registry.host}/multi/copy:1"
    out = run_dockyard("copy", "--all", first, second, root=dockyard_root)
    assert out.stdout.strip() == index_digest
    assert run_dockyard("digest", second, root=dockyard_root).stdout.strip() == index_digest
    out_dir = tmp_path / "copied"
    run_dockyard("copy", "--all", second, f"oci:{out_dir}:m", root=dockyard_root)
    assert manifest_digest(out_dir, "m") == index_digest
    # skopeo reads what dockyard wrote, platforms and all
    inspect = run_command(["skopeo", "inspect", "--raw", "--tls-verify=false", second]).stdout
    assert len(json.loads(inspect)["manifests"]) == 2

    # without --all: one platform, as docker picks it
    single = run_dockyard(
        "copy", "--platform", "linux/arm64", first, f"oci:{out_dir}:arm", root=dockyard_root
    )
    assert manifest_digest(out_dir, "arm") == single.stdout.strip() != index_digest

    # pull of one platform keeps the index as the tag (RepoDigest = index digest)
    run_dockyard(
        "pull", "--platform", "linux/arm64", first.removeprefix("docker://"), root=dockyard_root
    )
    images = run_dockyard("images", "--digests", root=dockyard_root).stdout
    assert index_digest in images
    # …and pushes back what it has: the arm64 manifest
    again = f"{registry.host}/multi/app:1"
    run_dockyard("tag", again, f"{registry.host}/multi/back:1", root=dockyard_root)
    pushed = run_dockyard("push", "-q", f"{registry.host}/multi/back:1", root=dockyard_root)
    assert pushed.stdout.strip() == single.stdout.strip()


@pytest.mark.slow
def test_oci_to_docker_archive_to_registry_to_oci_preserves_digest(
    registry: RunningRegistry, dockyard_root: Path, tmp_path: Path
) -> None:
    ref = f"{registry.host}/chain/app:1"
    make_image(dockyard_root, ref, files=4)
    start = tmp_path / "start"
    run_dockyard("copy", ref, f"oci:{start}:v1", root=dockyard_root)
    digest = manifest_digest(start, "v1")
    archive = tmp_path / "image.tar"
    run_dockyard(
        "copy", f"oci:{start}:v1", f"docker-archive:{archive}:chain/app:1", root=dockyard_root
    )
    remote = f"docker://{registry.host}/chain/copied:1"
    out = run_dockyard("copy", f"docker-archive:{archive}", remote, root=dockyard_root)
    assert out.stdout.strip() == digest
    end = tmp_path / "end"
    run_dockyard("copy", remote, f"oci:{end}:v1", root=dockyard_root)
    assert manifest_digest(end, "v1") == digest
    # and through an oci-archive, and skopeo agrees on what the registry holds
    oci_tar = tmp_path / "image.oci.tar"
    run_dockyard("copy", f"oci:{end}:v1", f"oci-archive:{oci_tar}:v1", root=dockyard_root)
    back = run_dockyard("copy", f"oci-archive:{oci_tar}:v1", "chain/local:1", root=dockyard_root)
    assert back.stdout.strip() == digest
    skopeo = run_command(["skopeo", "inspect", "--tls-verify=false", remote]).stdout
    assert json.loads(skopeo)["Digest"] == digest
    # docker load reads the archive dockyard wrote
    with tarfile.open(archive) as tar:
        assert tar.getmember("manifest.json").size > 0


def test_cross_repo_mount_and_chunked_upload(
    registry: RunningRegistry,
    dockyard_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ref = f"{registry.host}/mount/src:1"
    make_image(dockyard_root, ref, files=2, size=300_000)
    layout = tmp_path / "layout"
    run_dockyard("copy", ref, f"oci:{layout}:x", root=dockyard_root)
    # force the chunked path on small blobs: several PATCH requests per layer
    monkeypatch.setattr(repository_module, "MONOLITHIC_MAX", 1024)
    monkeypatch.setattr(repository_module, "CHUNK_SIZE", 64 * 1024)
    client = RegistryClient(ClientOptions())
    first = copy(
        LayoutSource(layout, "x"),
        client.destination(Reference.parse(f"{registry.host}/mount/src:1")),
    )
    assert first.copied and not first.mounted
    again = copy(
        LayoutSource(layout, "x"),
        client.destination(Reference.parse(f"{registry.host}/mount/src:1")),
    )
    assert not again.copied and len(again.skipped) == len(first.copied)
    mounted = copy(
        client.source(Reference.parse(f"{registry.host}/mount/src:1")),
        client.destination(Reference.parse(f"{registry.host}/mount/dst:1")),
    )
    assert sorted(mounted.mounted) == sorted(first.copied) and not mounted.copied
    assert mounted.digest == first.digest
