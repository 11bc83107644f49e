"""``dockyard build --platform a,b``: BuildKit's platform args, qemu emulation for foreign RUN
steps (and the error before any step when it is missing), one OCI index over the platforms."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from _infra import make_busybox_rootfs, run_dockyard, tar_rootfs
from _infra.arm64_images import arm64_busybox_tar, ensure_qemu_aarch64
from _infra.multiplatform import read_oci_archive

pytestmark = [pytest.mark.privileged, pytest.mark.slow]

BOTH = "linux/amd64,linux/arm64"

#: every automatic platform ARG, in a native BUILDPLATFORM stage and in the target's stage
ARGS_DOCKERFILE = """\
ARG TARGETARCH
FROM --platform=$BUILDPLATFORM bb:amd64 AS tools
ARG BUILDPLATFORM BUILDOS BUILDARCH BUILDVARIANT TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT
RUN echo "$BUILDPLATFORM|$BUILDOS|$BUILDARCH|$BUILDVARIANT|$TARGETPLATFORM|$TARGETOS|$TARGETARCH|$TARGETVARIANT" > /args && uname -m > /arch
FROM bb:$TARGETARCH
ARG BUILDPLATFORM BUILDOS BUILDARCH BUILDVARIANT TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT
COPY --from=tools /args /tools-args
COPY --from=tools /arch /tools-arch
RUN echo "$BUILDPLATFORM|$BUILDOS|$BUILDARCH|$BUILDVARIANT|$TARGETPLATFORM|$TARGETOS|$TARGETARCH|$TARGETVARIANT" > /args && uname -m > /arch
RUN echo "no ARG, no value: [$TARGETARCH]" > /unset || true
"""

#: a stage on the build platform whose inputs are the same for every target: built once
SHARED_DOCKERFILE = """\
ARG TARGETARCH
FROM --platform=$BUILDPLATFORM bb:amd64 AS shared
RUN cat /proc/sys/kernel/random/uuid > /id
FROM bb:$TARGETARCH AS final
COPY --from=shared /id /id
RUN uname -m > /arch
"""

PLAIN_DOCKERFILE = """\
ARG TARGETARCH
FROM bb:$TARGETARCH
RUN uname -m > /arch && echo built > /built
CMD ["cat", "/arch"]
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store for the module with ``bb:amd64`` and ``bb:arm64`` (busybox of each)."""
    ensure_qemu_aarch64()
    work = tmp_path_factory.mktemp("multiplatform")
    root = work / "store"
    amd64 = tar_rootfs(make_busybox_rootfs(work / "rootfs-amd64"), work / "amd64.tar")
    run_dockyard("import", "--platform", "linux/amd64", amd64, "bb:amd64", root=root)
    run_dockyard(
        "import", "--platform", "linux/arm64", arm64_busybox_tar(work), "bb:arm64", root=root
    )
    return root


def _context(tmp_path: Path, dockerfile: str) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    return ctx


def _build(
    store: Path, ctx: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_dockyard(
        "build", "--progress", "plain", *args, ctx, root=store, check=check, env=env
    )


def test_platform_args_and_emulated_run(store: Path, tmp_path: Path) -> None:
    """Each child has BuildKit's values; the BUILDPLATFORM stage ran natively, the arm64 RUN
    under qemu (``uname -m`` says aarch64); the index entries carry the platforms."""
    ctx = _context(tmp_path, ARGS_DOCKERFILE)
    archive = tmp_path / "out.tar"
    _build(store, ctx, "--platform", BOTH, "--output", f"type=oci,dest={archive}")
    got = read_oci_archive(archive, tmp_path / "trees")
    assert got.index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert [e["platform"] for e in got.index["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux"},
    ]
    amd, arm = got.roots["linux/amd64"], got.roots["linux/arm64"]
    assert (amd / "arch").read_text() == "x86_64\n"
    assert (arm / "arch").read_text() == "aarch64\n"
    assert (amd / "args").read_text() == "linux/amd64|linux|amd64||linux/amd64|linux|amd64|\n"
    assert (arm / "args").read_text() == "linux/amd64|linux|amd64||linux/arm64|linux|arm64|\n"
    # the tools stage runs on the build platform but sees the target of its build
    assert (arm / "tools-arch").read_text() == "x86_64\n"
    assert (arm / "tools-args").read_text() == (arm / "args").read_text()
    assert (amd / "unset").read_text() == "no ARG, no value: [amd64]\n"
    assert got.configs["linux/arm64"]["architecture"] == "arm64"
    assert got.configs["linux/amd64"]["architecture"] == "amd64"


def test_variant_args(store: Path, tmp_path: Path) -> None:
    """linux/arm/v7: TARGETVARIANT=v7 and an arm/v7 entry (a scratch image: no RUN, no qemu)."""
    ctx = _context(
        tmp_path,
        "FROM --platform=$BUILDPLATFORM bb:amd64 AS a\nARG TARGETPLATFORM TARGETARCH TARGETVARIANT\n"
        'RUN echo "$TARGETPLATFORM $TARGETARCH $TARGETVARIANT" > /t\n'
        "FROM scratch\nCOPY --from=a /t /t\n",
    )
    archive = tmp_path / "out.tar"
    _build(
        store, ctx, "--platform", "linux/arm/v7,linux/amd64", "--output", f"type=oci,dest={archive}"
    )
    got = read_oci_archive(archive, tmp_path / "trees")
    assert got.index["manifests"][0]["platform"] == {
        "architecture": "arm", "os": "linux", "variant": "v7"
    }  # fmt: skip
    assert (got.roots["linux/arm/v7"] / "t").read_text() == "linux/arm/v7 arm v7\n"
    assert (got.roots["linux/amd64"] / "t").read_text() == "linux/amd64 amd64 \n"
    assert got.configs["linux/arm/v7"]["variant"] == "v7"


def test_shared_build_platform_stage_runs_once(store: Path, tmp_path: Path) -> None:
    ctx = _context(tmp_path, SHARED_DOCKERFILE)
    archive = tmp_path / "out.tar"
    done = _build(store, ctx, "--platform", BOTH, "--output", f"type=oci,dest={archive}")
    got = read_oci_archive(archive, tmp_path / "trees")
    amd, arm = got.roots["linux/amd64"], got.roots["linux/arm64"]
    assert (amd / "id").read_text() == (arm / "id").read_text()  # one run, one uuid
    lines = done.stderr.splitlines()
    outcomes = []
    for platform in BOTH.split(","):
        mine = [
            line.removeprefix(f"[{platform}] ")
            for line in lines
            if line.startswith(f"[{platform}] ")
        ]
        (number,) = [
            line.split()[0] for line in mine if "RUN cat /proc/sys/kernel/random/uuid" in line
        ]
        outcomes += [
            line.split()[1]
            for line in mine
            if line.split()[:1] == [number] and line.split()[1] in ("DONE", "CACHED")
        ]
    assert sorted(outcomes) == ["CACHED", "DONE"]  # run by one platform, taken by the other
    assert (arm / "arch").read_text() == "aarch64\n"


def test_index_in_store_tags_inspect_history_save(store: Path, tmp_path: Path) -> None:
    ctx = _context(tmp_path, PLAIN_DOCKERFILE)
    iid = tmp_path / "iid"
    done = _build(store, ctx, "--platform", BOTH, "-t", "mp:store", "--iidfile", str(iid))
    index_digest = iid.read_text()
    assert index_digest.startswith("sha256:")
    assert "naming to docker.io/library/mp:store" in done.stderr
    rows = run_dockyard("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", root=store).stdout
    mine = [r for r in rows.splitlines() if r.startswith("mp:")]
    assert mine == [f"mp:store {index_digest.removeprefix('sha256:')[:12]}"]  # the index, once
    assert "<none>" not in rows  # the children are no dangling images
    arm = json.loads(
        run_dockyard("inspect", "--platform", "linux/arm64", "mp:store", root=store).stdout
    )[0]
    amd = json.loads(
        run_dockyard("inspect", "--platform", "linux/amd64", "mp:store", root=store).stdout
    )[0]
    assert (arm["Architecture"], amd["Architecture"]) == ("arm64", "amd64")
    assert arm["Id"] != amd["Id"] and arm["Config"]["Cmd"] == ["cat", "/arch"]
    hist = run_dockyard(
        "history", "--platform", "linux/arm64", "--no-trunc", "mp:store", root=store
    )
    assert hist.stdout.splitlines()[1].startswith(arm["Id"])
    assert "uname -m" in hist.stdout
    missing = run_dockyard(
        "inspect", "--platform", "linux/s390x", "mp:store", root=store, check=False
    )
    assert missing.returncode == 1
    assert "no matching manifest for linux/s390x" in missing.stderr
    assert "linux/amd64, linux/arm64" in missing.stderr
    saved = tmp_path / "arm.tar"
    run_dockyard("save", "--platform", "linux/arm64", "-o", saved, "mp:store", root=store)
    loaded = tmp_path / "loaded"
    run_dockyard("load", "-i", saved, root=loaded)
    back = json.loads(run_dockyard("inspect", "mp:store", root=loaded).stdout)[0]
    assert back["Id"] == arm["Id"]


def test_index_digest_is_reproducible(store: Path, tmp_path: Path) -> None:
    ctx = _context(tmp_path, PLAIN_DOCKERFILE)
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    # --no-cache: the module's earlier builds of this Dockerfile (no epoch) left cached layers
    first = _build(store, ctx, "--platform", BOTH, "-q", "--no-cache", env=env).stdout.strip()
    second = _build(store, ctx, "--platform", BOTH, "-q", "--no-cache", env=env).stdout.strip()
    assert first.startswith("sha256:") and first == second
    third = _build(
        store, ctx, "--platform", "linux/arm64,linux/amd64", "-q", env=env
    ).stdout.strip()
    assert third != first  # the order of the platforms is the order of the entries


def test_missing_binfmt_handler_stops_before_any_step(store: Path, tmp_path: Path) -> None:
    """Without a qemu-aarch64 handler: one error naming the platform and the Debian commands,
    no step run, nothing tagged (binfmt_misc read from an empty copy: the host's stays)."""
    fake = tmp_path / "binfmt_misc"
    fake.mkdir()
    (fake / "status").write_text("enabled\n")
    (fake / "register").write_text("")
    env = {"DOCKYARD_BINFMT_MISC": str(fake)}
    ctx = _context(tmp_path, PLAIN_DOCKERFILE)
    for platforms in ("linux/arm64", BOTH):
        done = _build(
            store, ctx, "--platform", platforms, "-t", "mp:nobinfmt", check=False, env=env
        )
        assert done.returncode == 1, done.stderr
        assert done.stderr == (  # the whole of it: no progress before the error
            "Error: cannot run RUN steps for linux/arm64: no qemu-aarch64 binfmt_misc handler is "
            "registered on this machine (install one: apt-get install qemu-user-static "
            "binfmt-support, then update-binfmts --enable qemu-aarch64)\n"
        )
    listed = run_dockyard("images", "--format", "{{.Repository}}:{{.Tag}}", root=store).stdout
    assert "mp:nobinfmt" not in listed
    # a handler without the F flag cannot start inside the container's root
    (fake / "qemu-aarch64").write_text(
        "enabled\ninterpreter /usr/bin/qemu-aarch64\nflags: P\noffset 0\nmagic 7f454c46\n"
    )
    done = _build(store, ctx, "--platform", "linux/arm64", check=False, env=env)
    assert "the qemu-aarch64 binfmt_misc handler lacks the F flag (flags: P)" in done.stderr
    # amd64 alone needs no emulator
    _build(store, ctx, "--platform", "linux/amd64", env=env)


def test_bad_platform_and_outputs_are_one_line_errors(store: Path, tmp_path: Path) -> None:
    ctx = _context(tmp_path, PLAIN_DOCKERFILE)
    for platforms, message in (
        ("linux/bogus", "Error: unknown architecture 'bogus' in platform 'linux/bogus'"),
        ("linux/amd64,linux/bogus", "Error: unknown architecture 'bogus'"),
        ("linux/amd64,", "Error: invalid --platform 'linux/amd64,': an empty platform"),
        ("windows/amd64,linux/amd64", "Error: cannot build for platform 'windows/amd64'"),
    ):
        done = _build(store, ctx, "--platform", platforms, check=False)
        assert done.returncode == 1
        assert done.stderr.startswith(message), done.stderr
        assert len(done.stderr.splitlines()) == 1, done.stderr
    docker = _build(
        store, ctx, "--platform", BOTH, "-o", f"type=docker,dest={tmp_path / 'd.tar'}", check=False
    )
    assert docker.returncode == 1
    assert "type=docker cannot hold a multi-platform image" in docker.stderr
    assert "type=oci" in docker.stderr
    assert not (tmp_path / "d.tar").exists()


def test_local_output_gets_a_directory_per_platform(store: Path, tmp_path: Path) -> None:
    ctx = _context(tmp_path, PLAIN_DOCKERFILE)
    dest = tmp_path / "out"
    _build(store, ctx, "--platform", BOTH, "-o", f"type=local,dest={dest}")
    assert (dest / "linux_amd64" / "arch").read_text() == "x86_64\n"
    assert (dest / "linux_arm64" / "arch").read_text() == "aarch64\n"


def test_scratch_stage_cache_keys_differ_per_platform(store: Path, tmp_path: Path) -> None:
    """The same scratch stage for another platform is not a cache hit (its RUN would run
    emulated there), while the same platform again is."""
    ctx = _context(
        tmp_path, 'FROM scratch\nCOPY busybox /busybox\nRUN ["/busybox", "touch", "/ran"]\n'
    )
    shutil.copy2("/bin/busybox", ctx / "busybox")
    first = _build(store, ctx, "--platform", "linux/amd64").stderr
    assert "CACHED" not in first
    again = _build(store, ctx, "--platform", "linux/amd64").stderr
    assert sum("CACHED" in line for line in again.splitlines()) == 2  # COPY and RUN
    other = _build(store, ctx, "--platform", "linux/arm64").stderr
    assert "CACHED" not in other


def test_one_platform_failing_fails_the_build_and_leaves_nothing(
    store: Path, tmp_path: Path
) -> None:
    ctx = _context(
        tmp_path, 'ARG TARGETARCH\nFROM bb:$TARGETARCH\nRUN test "$(uname -m)" = x86_64\n'
    )
    before = run_dockyard("images", "-q", "-a", "--no-trunc", root=store).stdout
    done = _build(store, ctx, "--platform", BOTH, "-t", "mp:fails", check=False)
    assert done.returncode != 0
    assert "[linux/arm64]" in done.stderr and "ERROR" in done.stderr
    assert run_dockyard("images", "-q", "-a", "--no-trunc", root=store).stdout == before


def test_base_index_without_the_platform_is_one_line_error(store: Path, tmp_path: Path) -> None:
    """A local multi-platform base that lacks a requested platform: one line naming its
    platforms, before any platform builds, and no pull (its registry is not even listening);
    --pull asks the registry."""
    base = "127.0.0.1:1/mp/base:multi"  # a local name: any pull of it fails
    base_ctx = tmp_path / "base"
    base_ctx.mkdir()
    (base_ctx / "Dockerfile").write_text("ARG TARGETARCH\nFROM bb:$TARGETARCH\n")
    _build(store, base_ctx, "--platform", BOTH, "-t", base)
    ctx = _context(tmp_path, f"FROM {base}\nRUN uname -m > /arch\n")
    before = run_dockyard("images", "-q", "-a", "--no-trunc", root=store).stdout
    expected = (
        f"Error: base image {base} (linux/amd64, linux/arm64) has no linux/arm/v7 (build for "
        "one of linux/amd64, linux/arm64, use a base with linux/arm/v7, or pass --pull to ask "
        "its registry)\n"
    )
    for platforms in ("linux/arm/v7", "linux/arm64,linux/arm/v7", "linux/arm/v7,linux/amd64"):
        done = _build(store, ctx, "--platform", platforms, "-t", "mp:nobase", check=False)
        assert done.returncode == 1, done.stderr
        assert done.stderr == expected  # no progress, no "pulling", no other platform built
    assert run_dockyard("images", "-q", "-a", "--no-trunc", root=store).stdout == before
    assert not list(store.glob("**/build-*"))  # no build's scratch directory
    pulled = _build(store, ctx, "--platform", "linux/arm/v7", "--pull", check=False)
    assert pulled.returncode == 1
    assert "pulling 127.0.0.1:1/mp/base:multi" in pulled.stderr
    assert "pulling it failed" in pulled.stderr
    # the platforms it has still build from it, without a pull
    built = _build(store, ctx, "--platform", BOTH)
    assert "pulling" not in built.stderr
