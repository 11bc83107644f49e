"""Multi-platform builds against the real tools: the platform ARGs and the emulated RUN equal
BuildKit's (``DOCKER_BUILDKIT=1 docker build --platform linux/arm64``), the index's arm64 child
included (files and config); the index ``--push``ed to dockyard's registry and to distribution
2.8.2 is what skopeo, docker and podman read and run; ``--output type=docker`` of one platform
of a multi-arch base is that child alone, which docker loads and runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra import (
    DockerDaemon,
    RunningRegistry,
    docker_registry,
    dockyard_registry,
    make_busybox_rootfs,
    run_dockyard,
    tar_rootfs,
)
from _infra.arm64_images import arm64_busybox_tar, ensure_qemu_aarch64
from _infra.build_helpers import (
    config_diff,
    docker_build,
    docker_config,
    docker_rootfs,
    dockyard_build,
    dockyard_config,
    tree,
    tree_diff,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.privileged]

# no global ``ARG TARGETARCH``: docker's built-in BuildKit (dockerfile frontend of 20.10) empties
# a redeclared automatic ARG there; FROM sees the automatic ones undeclared in both
DOCKERFILE = """\
FROM --platform=$BUILDPLATFORM mpbb:amd64 AS tools
ARG BUILDPLATFORM BUILDOS BUILDARCH BUILDVARIANT TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT
RUN echo "$BUILDPLATFORM|$BUILDOS|$BUILDARCH|$BUILDVARIANT|$TARGETPLATFORM|$TARGETOS|$TARGETARCH|$TARGETVARIANT" > /args && uname -m > /arch
FROM mpbb:$TARGETARCH
ARG BUILDPLATFORM TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT
COPY --from=tools /args /tools-args
COPY --from=tools /arch /tools-arch
RUN echo "$BUILDPLATFORM|$TARGETPLATFORM|$TARGETOS|$TARGETARCH|$TARGETVARIANT" > /args && uname -m > /arch
ENV ARCH_FILE=/arch
CMD ["cat", "/arch"]
"""


@pytest.fixture(scope="module")
def images(dockerd: DockerDaemon, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``mpbb:amd64``/``mpbb:arm64`` (the same busybox trees, each arch's binary) in dockerd and
    in a module-wide dockyard store (returned)."""
    ensure_qemu_aarch64()
    work = tmp_path_factory.mktemp("mp-interop")
    amd64 = tar_rootfs(make_busybox_rootfs(work / "rootfs-amd64"), work / "amd64.tar")
    arm64 = arm64_busybox_tar(work)
    root = work / "store"
    for arch, tar in (("amd64", amd64), ("arm64", arm64)):
        # docker 20.10's `import --platform` keeps the host's architecture: load dockyard's save
        run_dockyard("import", "--platform", f"linux/{arch}", tar, f"mpbb:{arch}", root=root)
        saved = work / f"mpbb-{arch}.docker.tar"
        run_dockyard("save", "-o", saved, f"mpbb:{arch}", root=root)
        dockerd.run("load", "-i", str(saved))
    ctx = work / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    return root


@pytest.fixture(scope="module")
def registries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RunningRegistry]]:
    work = tmp_path_factory.mktemp("mp-registries")
    with (
        dockyard_registry(work / "dockyard") as ours,
        docker_registry(work / "distribution") as theirs,
    ):
        yield {"dockyard": ours, "distribution": theirs}


def test_arm64_equals_buildkit(dockerd: DockerDaemon, images: Path, tmp_path: Path) -> None:
    """Files (args seen, ``uname -m`` under qemu) and config of the arm64 image: the same from
    BuildKit and from dockyard, single-platform and as the child of a two-platform index."""
    ctx = images.parent / "ctx"
    docker_build(dockerd, ctx, "mp-bk:arm64", "--platform", "linux/arm64")
    theirs = docker_rootfs(dockerd, "mp-bk:arm64", tmp_path / "docker")
    assert (theirs / "arch").read_text() == "aarch64\n"
    assert (theirs / "tools-arch").read_text() == "x86_64\n"
    ours = tmp_path / "dockyard"
    dockyard_build(images, ctx, "mp-dy:arm64", "--platform", "linux/arm64", out=ours)
    assert tree_diff(tree(theirs), tree(ours)) == {}
    assert (
        config_diff(docker_config(dockerd, "mp-bk:arm64"), dockyard_config(images, "mp-dy:arm64"))
        == {}
    )
    arch = json.loads(dockerd.run("image", "inspect", "mp-bk:arm64").stdout)[0]["Architecture"]
    assert (
        arch
        == json.loads(run_dockyard("inspect", "mp-dy:arm64", root=images).stdout)[0]["Architecture"]
    )
    multi = tmp_path / "multi"
    dockyard_build(images, ctx, "mp-dy:multi", "--platform", "linux/amd64,linux/arm64", out=multi)
    assert tree_diff(tree(theirs), tree(multi / "linux_arm64")) == {}
    children = {
        arch: json.loads(
            run_dockyard(
                "inspect", "--platform", f"linux/{arch}", "mp-dy:multi", root=images
            ).stdout
        )[0]
        for arch in ("amd64", "arm64")
    }
    # the index's arm64 child: the same config as BuildKit's single-platform arm64 image
    assert config_diff(docker_config(dockerd, "mp-bk:arm64"), children["arm64"]["Config"]) == {}
    assert (children["arm64"]["Os"], children["arm64"]["Architecture"]) == ("linux", "arm64")
    docker_build(dockerd, ctx, "mp-bk:amd64", "--platform", "linux/amd64")
    assert config_diff(docker_config(dockerd, "mp-bk:amd64"), children["amd64"]["Config"]) == {}
    assert children["amd64"]["Architecture"] == "amd64"


@pytest.mark.parametrize("kind", ["dockyard", "distribution"])
def test_push_index_to_registries(
    kind: str,
    dockerd: DockerDaemon,
    images: Path,
    registries: dict[str, RunningRegistry],
    tmp_path: Path,
) -> None:
    registry = registries[kind]
    ref = f"{registry.host}/mp/app:{kind}"
    dockyard_build(
        images, images.parent / "ctx", ref, "--platform", "linux/amd64,linux/arm64", "--push"
    )
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    index = json.loads(raw)
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64", "arm64"]
    local = json.loads(run_dockyard("inspect", ref, root=images).stdout)[0]
    assert local["Id"].endswith(__import__("hashlib").sha256(raw.encode()).hexdigest())
    copied = tmp_path / "layout"
    subprocess.run(
        ["skopeo", "copy", "--quiet", "--all", "--src-tls-verify=false", f"docker://{ref}", f"oci:{copied}:t"],
        check=True,
    )  # fmt: skip
    assert json.loads((copied / "index.json").read_text())["manifests"][0]["mediaType"].endswith(
        "index.v1+json"
    )
    dockerd.run("pull", "--platform", "linux/arm64", ref)
    run = dockerd.run(
        "run", "--rm", "--platform", "linux/arm64", "--network", "host", ref, "uname", "-m"
    )
    assert run.stdout == "aarch64\n"
    assert (
        dockerd.run("run", "--rm", "--platform", "linux/arm64", "--network", "host", ref).stdout
        == "aarch64\n"
    )
    dockerd.run("rmi", ref)
    # podman picks the arm64 child too, from either registry
    arm64 = next(m for m in index["manifests"] if m["platform"]["architecture"] == "arm64")
    runroot = Path(tempfile.mkdtemp(prefix="dymp-"))  # podman wants a short run root
    try:
        podman = [
            "podman", "--root", str(tmp_path / "podman"), "--runroot", str(runroot),
            "--storage-driver", "vfs", "--events-backend", "none",
        ]  # fmt: skip
        subprocess.run(
            [*podman, "pull", "-q", "--tls-verify=false", "--platform", "linux/arm64", ref],
            check=True, capture_output=True,
        )  # fmt: skip
        pulled = json.loads(
            subprocess.run(
                [*podman, "image", "inspect", ref], check=True, capture_output=True, text=True
            ).stdout
        )[0]
        assert (pulled["Os"], pulled["Architecture"]) == ("linux", "arm64")
        digests = {pulled["Digest"], *(d.rsplit("@", 1)[1] for d in pulled["RepoDigests"])}
        assert arm64["digest"] in digests  # the index's arm64 child, not another
    finally:
        shutil.rmtree(runroot, ignore_errors=True)


def test_docker_output_of_one_platform_of_a_multi_arch_base(
    dockerd: DockerDaemon, images: Path, tmp_path: Path
) -> None:
    """``--output type=docker`` with ``--platform`` naming one platform of a multi-arch base:
    the archive holds that child alone (buildx's behaviour), which docker loads as an arm64
    image and runs under qemu; with both platforms it is refused, pointing at type=oci."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "Dockerfile").write_text("FROM mpbb:$TARGETARCH\nRUN uname -m > /base-arch\n")
    dockyard_build(images, base, "mp-base:multi", "--platform", "linux/amd64,linux/arm64")
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text(
        'FROM mp-base:multi\nRUN cat /base-arch > /seen\nCMD ["cat", "/seen"]\n'
    )
    archive = tmp_path / "app.docker.tar"
    run_dockyard("build", "--platform", "linux/arm64", "-t", "mp-docker:arm64",
                 "-o", f"type=docker,dest={archive}", app, root=images, timeout=900)  # fmt: skip
    with tarfile.open(archive) as tar:
        (entry,) = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        config = json.load(tar.extractfile(entry["Config"]))  # type: ignore[arg-type]
    assert entry["RepoTags"] == ["mp-docker:arm64"]
    assert (config["os"], config["architecture"]) == ("linux", "arm64")
    dockerd.run("load", "-i", str(archive))
    loaded = json.loads(dockerd.run("image", "inspect", "mp-docker:arm64").stdout)[0]
    assert (loaded["Os"], loaded["Architecture"]) == ("linux", "arm64")
    ran = dockerd.run("run", "--rm", "--platform", "linux/arm64", "--network", "host",
                      "mp-docker:arm64")  # fmt: skip
    assert ran.stdout == "aarch64\n"  # the base's arm64 child, its RUN emulated
    dockerd.run("rmi", "mp-docker:arm64")
    both = tmp_path / "both.docker.tar"
    refused = run_dockyard("build", "--platform", "linux/amd64,linux/arm64",
                           "-o", f"type=docker,dest={both}", app, root=images,
                           check=False)  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        "Error: --output type=docker cannot hold a multi-platform image"
    ), refused.stderr
    assert "type=oci" in refused.stderr and not both.exists()


def test_base_index_missing_child_is_fetched(
    images: Path, registries: dict[str, RunningRegistry], tmp_path: Path
) -> None:
    """A multi-platform base pulled for amd64 only: building for arm64 fetches its child (the
    tag still names the index) instead of failing on a blob not in the store."""
    base = f"{registries['dockyard'].host}/mp/base:1"
    ctx = tmp_path / "base"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM mpbb:$TARGETARCH\nRUN uname -m > /base-arch\n")
    dockyard_build(images, ctx, base, "--platform", "linux/amd64,linux/arm64", "--push")
    fresh = tmp_path / "fresh"
    run_dockyard("pull", "--platform", "linux/amd64", base, root=fresh)
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text(f"FROM {base}\nRUN cat /base-arch > /seen\n")
    out = tmp_path / "out"
    dockyard_build(fresh, app, "app:arm", "--platform", "linux/arm64", out=out / "arm")
    assert (out / "arm" / "seen").read_text() == "aarch64\n"
    dockyard_build(
        fresh, app, "app:both", "--platform", "linux/amd64,linux/arm64", out=out / "both"
    )
    assert (out / "both" / "linux_amd64" / "seen").read_text() == "x86_64\n"
    # a single-platform base used for another platform: one error naming both
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "Dockerfile").write_text("FROM mpbb:amd64\nRUN true\n")
    done = run_dockyard("build", "--platform", "linux/arm64", bad, root=images, check=False)
    assert done.returncode == 1
    assert done.stderr.startswith(  # the whole stderr: one line, before any progress
        "Error: base image mpbb:amd64 is for linux/amd64, not linux/arm64"
    )
    assert len(done.stderr.splitlines()) == 1, done.stderr
