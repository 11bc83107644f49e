"""``dockyard build --platform linux/amd64,linux/arm64 --cache-to …``: one cache export holds
every platform's steps (buildx's), and ``--cache-from`` of it gives a fresh store every step
CACHED for both platforms and the same index digest — to an OCI layout (``mode=max`` and
``mode=min``) and to real registries (dockyard's and distribution 2.8.2).

The RUN steps write a random UUID, so running any of them again could not give the same
digest; the arm64 RUN runs under qemu.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra import (
    RunningRegistry,
    docker_registry,
    dockyard_registry,
    make_busybox_rootfs,
    run_dockyard,
    tar_rootfs,
)
from _infra.arm64_images import arm64_busybox_tar, ensure_qemu_aarch64
from _infra.multiplatform import read_oci_archive

pytestmark = [pytest.mark.privileged, pytest.mark.slow]

BOTH = "linux/amd64,linux/arm64"
PLATFORMS = BOTH.split(",")
EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}

#: a stage on the build platform (shared by both platforms), then an emulated RUN for arm64
DOCKERFILE = """\
ARG TARGETARCH
FROM --platform=$BUILDPLATFORM bb:amd64 AS tools
RUN cat /proc/sys/kernel/random/uuid > /tool-id
FROM bb:$TARGETARCH
COPY --from=tools /tool-id /tool-id
RUN uname -m > /arch && cat /proc/sys/kernel/random/uuid > /id
COPY app.txt /app.txt
CMD ["cat", "/arch"]
"""

#: the numbered steps after FROM, in each platform's build
TOOLS_RUN = "[tools 2/2] RUN cat /proc/sys/kernel/random/uuid > /tool-id"
TARGET_STEPS = 3


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``bb:amd64`` and ``bb:arm64`` saved in one archive: every store loads the same IDs."""
    ensure_qemu_aarch64()
    work = tmp_path_factory.mktemp("multiplatform-cache")
    root = work / "store"
    amd64 = tar_rootfs(make_busybox_rootfs(work / "rootfs-amd64"), work / "amd64.tar")
    run_dockyard("import", "--platform", "linux/amd64", amd64, "bb:amd64", root=root)
    run_dockyard(
        "import", "--platform", "linux/arm64", arm64_busybox_tar(work), "bb:arm64", root=root
    )
    archive = work / "bases.tar"
    run_dockyard("save", "-o", archive, "bb:amd64", "bb:arm64", root=root)
    return archive


def _store(tmp: Path, name: str, bases: Path) -> Path:
    root = tmp / name
    run_dockyard("load", "-i", bases, root=root)
    return root


def _context(tmp: Path) -> Path:
    ctx = tmp / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "app.txt").write_text("app\n")
    return ctx


def _build(
    root: Path, ctx: Path, *args: str, env: dict[str, str] | None = None, platform: str = BOTH
) -> tuple[str, subprocess.CompletedProcess[str]]:
    iid = root / "iid"
    done = run_dockyard(
        "build", "--progress", "plain", "--platform", platform, "--iidfile", iid, *args, ctx,
        root=root, env=env, timeout=900,
    )  # fmt: skip
    return iid.read_text().strip(), done


def _steps(stderr: str, single: str = "") -> dict[str, dict[str, str]]:
    """Per platform, each numbered step after FROM → how it ended (DONE, CACHED, ERROR); the
    lines of a one-platform build (no prefix) are ``single``'s."""
    names: dict[tuple[str, str], str] = {}
    ends: dict[tuple[str, str], str] = {}
    for line in stderr.splitlines():
        m = re.match(r"(?:\[(linux/\w+)\] )?(#\d+) (.*)$", line)
        if m is None:
            continue
        platform, number, rest = m.groups()
        platform = platform or single
        if re.match(r"\[(\S+ )?\d+/\d+\] ", rest) and "] FROM " not in rest:
            names[platform, number] = rest
        elif rest.split()[:1] and rest.split()[0] in ("DONE", "CACHED", "ERROR:"):
            ends[platform, number] = rest.split()[0].rstrip(":")
    got: dict[str, dict[str, str]] = {p: {} for p in [*PLATFORMS, single]}
    for (platform, number), name in names.items():
        got[platform][name] = ends.get((platform, number), "?")
    return got


def _all_cached(stderr: str) -> None:
    steps = _steps(stderr)
    for platform in PLATFORMS:
        assert len(steps[platform]) == 1 + TARGET_STEPS, (platform, steps)
        assert set(steps[platform].values()) == {"CACHED"}, (platform, steps[platform])


def _layout_manifest(cache: Path, tag: str) -> dict[str, object]:
    index = json.loads((cache / "index.json").read_text())
    (entry,) = [
        e
        for e in index["manifests"]
        if e["annotations"]["org.opencontainers.image.ref.name"] == tag
    ]
    blob = cache / "blobs" / "sha256" / entry["digest"].removeprefix("sha256:")
    manifest: dict[str, object] = json.loads(blob.read_text())
    return manifest


def test_local_cache_of_both_platforms_gives_a_fresh_store_every_step_cached(
    bases: Path, tmp_path: Path
) -> None:
    ctx = _context(tmp_path)
    cache = tmp_path / "cache"
    a = _store(tmp_path, "a", bases)
    archive = tmp_path / "a.tar"
    first, done = _build(
        a, ctx, "--cache-to", f"type=local,dest={cache},mode=max",
        "--cache-to", f"type=local,dest={cache},tag=min",
        "-o", f"type=oci,dest={archive}", env=EPOCH,
    )  # fmt: skip
    steps = _steps(done.stderr)
    assert sorted(steps[p][TOOLS_RUN] for p in PLATFORMS) == ["CACHED", "DONE"]  # shared
    assert all(steps[p][n] == "DONE" for p in PLATFORMS for n in steps[p] if n != TOOLS_RUN)
    # one export per location (not one per platform), its records and layers are both
    # platforms': the two RUN layers of the target stage and the tools stage's
    assert done.stderr.count("exporting cache to client directory") == 2
    manifest = _layout_manifest(cache, "latest")
    config = manifest["config"]
    assert isinstance(config, dict)
    assert config["mediaType"] == "application/vnd.buildkit.cacheconfig.v0"
    doc = json.loads((cache / "blobs" / "sha256" / config["digest"][7:]).read_text())
    # the tools RUN once, then COPY --from, RUN and COPY per platform
    assert len(doc["records"]) == 1 + 2 * TARGET_STEPS
    got = read_oci_archive(archive, tmp_path / "trees-a")
    assert (got.roots["linux/arm64"] / "arch").read_text() == "aarch64\n"
    assert (got.roots["linux/amd64"] / "arch").read_text() == "x86_64\n"

    b = _store(tmp_path, "b", bases)
    second, done = _build(
        b, ctx, "-t", "app:multi", "--cache-from", f"type=local,src={cache}", env=EPOCH
    )
    _all_cached(done.stderr)  # no RUN ran: their output holds a random UUID
    assert second == first  # (no tag= in a layout of two: BuildKit's default, latest)
    assert "WARNING" not in done.stderr
    assert done.stderr.count("importing cache manifest from") == 1  # for both platforms
    # the images are complete in the new store: their layers were fetched
    for platform in PLATFORMS:
        out = tmp_path / f"b-{platform.replace('/', '_')}.tar"
        run_dockyard("save", "-o", out, "--platform", platform, "app:multi", root=b)

    # mode=min: the tools stage's record is not exported, so its RUN runs again (once, for
    # both platforms); the target stage's steps (COPY --from keyed by the tools stage's
    # inputs) all hit, and the index is the same
    c = _store(tmp_path, "c", bases)
    third, done = _build(c, ctx, "--cache-from", f"type=local,src={cache},tag=min", env=EPOCH)
    steps = _steps(done.stderr)
    assert sorted(steps[p][TOOLS_RUN] for p in PLATFORMS) == ["CACHED", "DONE"]
    assert all(steps[p][n] == "CACHED" for p in PLATFORMS for n in steps[p] if n != TOOLS_RUN)
    assert third == first


@pytest.fixture(params=["dockyard", "distribution"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningRegistry]:
    serve = dockyard_registry if request.param == "dockyard" else docker_registry
    with serve(tmp_path / "registry") as running:
        yield running


def test_registry_cache_of_both_platforms(
    registry: RunningRegistry, bases: Path, tmp_path: Path
) -> None:
    """Without SOURCE_DATE_EPOCH too: the stages' creation times travel with the cache."""
    ctx = _context(tmp_path)
    ref = f"{registry.host}/cache/app:buildcache"
    a = _store(tmp_path, "a", bases)
    first, done = _build(
        a, ctx, "-t", "app:multi", "--cache-to", f"type=registry,ref={ref},mode=max"
    )
    assert done.stderr.count("exporting cache to registry") == 1
    assert "writing cache manifest sha256:" in done.stderr

    b = _store(tmp_path, "b", bases)
    second, done = _build(b, ctx, "-t", "app:multi", "--cache-from", f"type=registry,ref={ref}")
    _all_cached(done.stderr)
    assert second == first
    assert re.findall(r"^\S+ importing cache manifest from .*", done.stderr, re.M) == [
        f"#1 importing cache manifest from {ref}"
    ]

    # the same cache serves a single-platform build of one of the platforms: the arm64
    # image is the index's arm64 child
    c = _store(tmp_path, "c", bases)
    single, done = _build(c, ctx, "-t", "app:arm", "--cache-from", ref, platform="linux/arm64")
    child = json.loads(
        run_dockyard("inspect", "--platform", "linux/arm64", "app:multi", root=b).stdout
    )[0]["Id"]
    assert single == child
    steps = _steps(done.stderr, single="linux/arm64")["linux/arm64"]
    assert len(steps) == 1 + TARGET_STEPS and set(steps.values()) == {"CACHED"}, steps
