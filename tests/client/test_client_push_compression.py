"""push (and copy) compress layers like docker and buildx: gzip by default, zstd or none on
request, never recompressing what is already compressed unless forced."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import zstandard

from _infra import DockerDaemon, make_busybox_rootfs, run_command, run_dockyard, tar_rootfs
from _infra.registry_server import RegistryProcess, start_registry
from dockyard.digest import digest_of
from dockyard.image import CompressionPolicy
from dockyard.oci import Descriptor, Manifest, Platform, mediatypes

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
HELLO = "hello from a compressed layer\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """dockyard's own registry, a real process on 127.0.0.1, no auth."""
    with start_registry(tmp_path_factory.mktemp("compression") / "data") as server:
        yield server


@pytest.fixture(scope="module")
def rootfs_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runnable busybox root filesystem with /data/hello.txt, as a plain tarball."""
    work = tmp_path_factory.mktemp("rootfs")
    root = make_busybox_rootfs(work / "rootfs")
    (root / "data").mkdir()
    (root / "data" / "hello.txt").write_text(HELLO)
    return tar_rootfs(root, work / "rootfs.tar")


def _raw_manifest(ref: str) -> dict[str, Any]:
    out = run_command(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"])
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def _blob(host: str, repo: str, digest: str) -> bytes:
    response = httpx.get(f"http://{host}/v2/{repo}/blobs/{digest}", follow_redirects=True)
    response.raise_for_status()
    return response.content


def _local_diff_ids(root: Path, ref: str) -> list[str]:
    data = json.loads(run_dockyard("inspect", ref, root=root).stdout)
    return list(data[0]["RootFS"]["Layers"])


def _remote_diff_ids(host: str, repo: str, manifest: dict[str, Any]) -> list[str]:
    config = json.loads(_blob(host, repo, manifest["config"]["digest"]))
    return list(config["rootfs"]["diff_ids"])


def _hello_from_layer(blob: bytes) -> str:
    """/data/hello.txt from a layer blob (gzip, zstd or plain tar)."""
    if blob.startswith(GZIP_MAGIC):
        blob = gzip.decompress(blob)
    elif blob.startswith(ZSTD_MAGIC):
        blob = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(blob)).read()
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        member = tar.extractfile("data/hello.txt")
        assert member is not None
        return member.read().decode()


def _skopeo_copy_hello(ref: str, out: Path) -> str:
    """skopeo copies ``ref`` into an OCI layout; the file as its only layer holds it."""
    run_command(["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{out}:x"])
    index = json.loads((out / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"].split(":", 1)[1]
    manifest = json.loads((out / "blobs" / "sha256" / manifest_digest).read_text())
    layer_digest = manifest["layers"][0]["digest"].split(":", 1)[1]
    return _hello_from_layer((out / "blobs" / "sha256" / layer_digest).read_bytes())


def _docker_hello(dockerd: DockerDaemon, ref: str) -> str:
    dockerd.run("pull", ref)
    try:
        return str(
            dockerd.run("run", "--rm", "--network", "none", ref, "cat", "/data/hello.txt").stdout
        )
    finally:
        dockerd.run("rmi", ref, check=False)


@pytest.mark.slow
@pytest.mark.docker
def test_push_gzips_an_imported_layer_like_docker(
    served: RegistryProcess,
    rootfs_tar: Path,
    dockyard_root: Path,
    dockerd: DockerDaemon,
    tmp_path: Path,
) -> None:
    ref = f"{served.host}/gz/app:1"
    run_dockyard("import", rootfs_tar, ref, root=dockyard_root)
    run_dockyard("push", ref, root=dockyard_root)
    manifest = _raw_manifest(ref)
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    blob = _blob(served.host, "gz/app", layer["digest"])
    assert blob[:2] == GZIP_MAGIC
    assert len(blob) == layer["size"] < rootfs_tar.stat().st_size
    assert _remote_diff_ids(served.host, "gz/app", manifest) == _local_diff_ids(dockyard_root, ref)
    assert _hello_from_layer(blob) == HELLO
    assert _docker_hello(dockerd, ref) == HELLO
    assert _skopeo_copy_hello(ref, tmp_path / "skopeo") == HELLO


@pytest.mark.slow
def test_push_zstd_is_pulled_by_skopeo_and_dockyard(
    served: RegistryProcess, rootfs_tar: Path, dockyard_root: Path, tmp_path: Path
) -> None:
    ref = f"{served.host}/zstd/app:1"
    run_dockyard("import", rootfs_tar, ref, root=dockyard_root)
    run_dockyard("push", "--compression", "zstd", ref, root=dockyard_root)
    manifest = _raw_manifest(ref)
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+zstd"
    blob = _blob(served.host, "zstd/app", layer["digest"])
    assert blob[:4] == ZSTD_MAGIC
    assert _remote_diff_ids(served.host, "zstd/app", manifest) == _local_diff_ids(
        dockyard_root, ref
    )
    assert _skopeo_copy_hello(ref, tmp_path / "skopeo") == HELLO
    # (not docker pull: Debian's docker.io 28.2 on overlay2 fails on zstd layers with "invalid
    # tar header", skopeo's own zstd pushes included)
    # dockyard pulls it into another store and can save it for docker
    other = tmp_path / "other-root"
    run_dockyard("pull", ref, root=other)
    saved = tmp_path / "saved.tar"
    run_dockyard("save", "--format", "oci", "-o", saved, ref, root=other)
    with tarfile.open(saved) as tar:
        member = tar.extractfile(f"blobs/sha256/{layer['digest'].split(':', 1)[1]}")
        assert member is not None
        assert _hello_from_layer(member.read()) == HELLO


@pytest.mark.slow
def test_push_compression_none_keeps_the_tar(
    served: RegistryProcess, rootfs_tar: Path, dockyard_root: Path
) -> None:
    ref = f"{served.host}/plain/app:1"
    run_dockyard("import", rootfs_tar, ref, root=dockyard_root)
    run_dockyard("push", "--compression", "none", ref, root=dockyard_root)
    manifest = _raw_manifest(ref)
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
    assert [layer["digest"]] == _local_diff_ids(dockyard_root, ref)
    blob = _blob(served.host, "plain/app", layer["digest"])
    assert blob == rootfs_tar.read_bytes()


def _blob_files(root: Path) -> dict[str, int]:
    """Every blob file of a store and its inode (a rewritten blob gets a new one)."""
    return {p.name: p.stat().st_ino for p in (root / "blobs" / "sha256").iterdir()}


@pytest.mark.slow
def test_compressed_layers_are_never_recompressed(
    served: RegistryProcess, rootfs_tar: Path, dockyard_root: Path, tmp_path: Path
) -> None:
    first = f"{served.host}/keep/first:1"
    run_dockyard("import", rootfs_tar, first, root=dockyard_root)
    out = run_dockyard("push", first, root=dockyard_root)
    assert "Compressed to" in out.stderr
    pushed = out.stdout.split("digest: ", 1)[1].split()[0]
    gz_layer = _raw_manifest(first)["layers"][0]["digest"]

    # the store remembers the compressed layer: a second push compresses nothing
    before = _blob_files(dockyard_root)
    assert gz_layer.split(":", 1)[1] in before
    again = f"{served.host}/keep/again:1"
    run_dockyard("tag", first, again, root=dockyard_root)
    out = run_dockyard("push", again, root=dockyard_root)
    assert "compress" not in out.stderr.lower()
    assert f"digest: {pushed} " in out.stdout
    assert _blob_files(dockyard_root) == before
    # gc keeps the compressed layer as long as the image with the plain one, and no longer
    run_dockyard("image", "prune", "-f", root=dockyard_root)
    assert gz_layer.split(":", 1)[1] in _blob_files(dockyard_root)

    # a pulled (gzip) image goes back up byte for byte, whatever --compression says
    other = tmp_path / "other-root"
    run_dockyard("pull", first, root=other)
    for repo, flags in (("keep/gzip", []), ("keep/zstd", ["--compression", "zstd"])):
        ref = f"{served.host}/{repo}:1"
        run_dockyard("tag", first, ref, root=other)
        out = run_dockyard("push", "-q", *flags, ref, root=other).stdout.strip()
        assert out == pushed, repo
        assert _raw_manifest(ref)["layers"][0]["digest"] == gz_layer

    # --force-compression converts it (buildx's force-compression=true); diff_ids stay
    forced = f"{served.host}/keep/forced:1"
    run_dockyard("tag", first, forced, root=other)
    run_dockyard("push", "--compression", "zstd", "--force-compression", forced, root=other)
    manifest = _raw_manifest(forced)
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+zstd"
    assert _blob(served.host, "keep/forced", layer["digest"])[:4] == ZSTD_MAGIC
    assert _remote_diff_ids(served.host, "keep/forced", manifest) == _local_diff_ids(
        dockyard_root, first
    )

    run_dockyard("rmi", first, again, root=dockyard_root)
    run_dockyard("image", "prune", "-a", "-f", root=dockyard_root)
    assert gz_layer.split(":", 1)[1] not in _blob_files(dockyard_root)


@pytest.mark.slow
def test_copy_keeps_bytes_unless_asked_to_compress(
    served: RegistryProcess, rootfs_tar: Path, dockyard_root: Path, tmp_path: Path
) -> None:
    """copy is the mirroring tool: digests survive by default; --compression opts in."""
    local = "copy/app:1"
    run_dockyard("import", rootfs_tar, local, root=dockyard_root)
    diff_ids = _local_diff_ids(dockyard_root, local)
    layout = tmp_path / "layout"
    run_dockyard("copy", local, f"oci:{layout}:x", root=dockyard_root)
    index = json.loads((layout / "index.json").read_text())
    manifest_hex = index["manifests"][0]["digest"].split(":", 1)[1]
    manifest = json.loads((layout / "blobs" / "sha256" / manifest_hex).read_text())
    assert [layer["digest"] for layer in manifest["layers"]] == diff_ids
    ref = f"{served.host}/copy/app:1"
    run_dockyard("copy", f"oci:{layout}:x", f"docker://{ref}", root=dockyard_root)
    assert [layer["digest"] for layer in _raw_manifest(ref)["layers"]] == diff_ids

    for name, magic in (("gzip", GZIP_MAGIC), ("zstd", ZSTD_MAGIC)):
        target = f"{served.host}/copy/{name}:1"
        run_dockyard(
            "copy",
            "--compression",
            name,
            f"oci:{layout}:x",
            f"docker://{target}",
            root=dockyard_root,
        )
        manifest = _raw_manifest(target)
        (layer,) = manifest["layers"]
        assert layer["mediaType"] == f"application/vnd.oci.image.layer.v1.tar+{name}"
        blob = _blob(served.host, f"copy/{name}", layer["digest"])
        assert blob.startswith(magic) and _hello_from_layer(blob) == HELLO
        assert _remote_diff_ids(served.host, f"copy/{name}", manifest) == diff_ids

    refused = run_dockyard(
        "copy", "--force-compression", local, f"docker://{ref}", root=dockyard_root, check=False
    )
    assert refused.returncode != 0 and "--force-compression needs --compression" in refused.stderr


def _docker_format_layout(
    root: Path, rootfs_tar: Path, diff_id: str | None = None
) -> dict[str, Any]:
    """An OCI layout holding a Docker v2 schema 2 image with one plain tar layer (what
    ``docker save`` gave before Docker 25); returns its manifest."""
    tar = rootfs_tar.read_bytes()
    diff_id = diff_id or str(digest_of(tar))
    config = json.dumps(
        {
            "architecture": Platform.current().architecture,
            "os": "linux",
            "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    manifest = Manifest.build(
        Descriptor.of(config, mediatypes.DOCKER_CONFIG),
        [Descriptor.of(tar, mediatypes.DOCKER_LAYER)],
        media_type=mediatypes.DOCKER_MANIFEST,
    )
    for blob in (tar, config, manifest.raw):
        path = root / "blobs" / "sha256" / digest_of(blob).hex
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    entry = manifest.descriptor().to_json()
    entry["annotations"] = {"org.opencontainers.image.ref.name": "x"}
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    data: dict[str, Any] = json.loads(manifest.raw)
    return data


@pytest.mark.slow
@pytest.mark.docker
def test_docker_format_images_keep_docker_media_types(
    served: RegistryProcess,
    rootfs_tar: Path,
    dockyard_root: Path,
    dockerd: DockerDaemon,
    tmp_path: Path,
) -> None:
    """A docker-format image with plain docker layers goes up as docker push sends it (docker
    media types, gzip); zstd turns the manifest into an OCI one, as buildx does."""
    stored = _docker_format_layout(tmp_path / "layout", rootfs_tar)
    source = "compression/docker:1"
    run_dockyard("copy", f"oci:{tmp_path / 'layout'}:x", source, root=dockyard_root)

    gz = f"{served.host}/docker/app:gz"
    run_dockyard("tag", source, gz, root=dockyard_root)
    run_dockyard("push", gz, root=dockyard_root)
    manifest = _raw_manifest(gz)
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert manifest["config"] == stored["config"]
    assert [layer["mediaType"] for layer in manifest["layers"]] == [
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    ]
    assert _docker_hello(dockerd, gz) == HELLO

    zs = f"{served.host}/docker/app:zstd"
    run_dockyard("tag", source, zs, root=dockyard_root)
    run_dockyard("push", "--compression", "zstd", zs, root=dockyard_root)
    manifest = _raw_manifest(zs)
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    assert manifest["config"]["digest"] == stored["config"]["digest"]
    assert [layer["mediaType"] for layer in manifest["layers"]] == [
        "application/vnd.oci.image.layer.v1.tar+zstd"
    ]
    assert _skopeo_copy_hello(zs, tmp_path / "skopeo") == HELLO


@pytest.mark.slow
def test_a_layer_that_is_not_its_diff_id_is_not_published(
    served: RegistryProcess, rootfs_tar: Path, dockyard_root: Path, tmp_path: Path
) -> None:
    """Hostile or broken content: a config naming another tar than the layer holds. Pushed
    as is it stays the publisher's claim; compressed by us it would become ours — refused."""
    lie = "sha256:" + "0" * 64
    _docker_format_layout(tmp_path / "layout", rootfs_tar, diff_id=lie)
    run_dockyard("copy", f"oci:{tmp_path / 'layout'}:x", "broken/app:1", root=dockyard_root)
    ref = f"{served.host}/broken/app:1"
    run_dockyard("tag", "broken/app:1", ref, root=dockyard_root)
    out = run_dockyard("push", ref, root=dockyard_root, check=False)
    assert out.returncode == 1
    assert "does not hold the tar its image config names" in out.stderr
    assert lie in out.stderr and "--compression none" in out.stderr
    tags = httpx.get(f"http://{served.host}/v2/broken/app/manifests/1")
    assert tags.status_code == 404


@pytest.mark.parametrize(
    ("media_type", "name", "force", "expected"),
    [
        ("application/vnd.oci.image.layer.v1.tar", "gzip", False, (True, "gzip")),
        ("application/vnd.oci.image.layer.v1.tar", "none", False, (False, None)),
        ("application/vnd.oci.image.layer.v1.tar+gzip", "zstd", False, (False, None)),
        ("application/vnd.oci.image.layer.v1.tar+gzip", "zstd", True, (True, "zstd")),
        ("application/vnd.oci.image.layer.v1.tar+zstd", "zstd", True, (False, None)),
        ("application/vnd.oci.image.layer.v1.tar+zstd", "none", True, (True, None)),
        ("application/vnd.docker.image.rootfs.diff.tar", "gzip", False, (True, "gzip")),
        ("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "zstd", True, (False, None)),
        ("application/vnd.oci.image.layer.nondistributable.v1.tar", "gzip", True, (False, None)),
        ("application/vnd.dev.cosign.simplesigning.v1+json", "gzip", True, (False, None)),
        ("application/vnd.in-toto+json", "zstd", True, (False, None)),
    ],
)
def test_which_layers_a_policy_converts(
    media_type: str, name: str, force: bool, expected: tuple[bool, str | None]
) -> None:
    layer = Descriptor(media_type, digest_of(b"x"), 1)
    assert CompressionPolicy.named(name, force=force).target(layer) == expected
