"""The guide's Go multi-stage example, cross-compiled: ``FROM --platform=$BUILDPLATFORM golang``,
``GOOS=$TARGETOS GOARCH=$TARGETARCH go build``, then ``FROM scratch`` + ``COPY --from``, built for
linux/amd64 and linux/arm64 in one ``dockyard build``.

Shown: the arm64 binary is an aarch64 ELF and runs under qemu through ``dockyard run --platform
linux/arm64``; the compile stage ran natively (the build succeeds with no binfmt_misc handler at
all, and the binary says it was linked on x86_64) and its steps before ``ARG TARGETARCH`` ran once
for both platforms; each platform's image has the same files and config as BuildKit's
(``DOCKER_BUILDKIT=1 docker build --platform …``, one platform per build: docker 20.10's built-in
BuildKit rejects a list of platforms and Debian ships no buildx). The example is the one in
``docs/multiplatform.md``.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra import DockerDaemon, run_dockyard
from _infra.arm64_images import ensure_qemu_aarch64
from _infra.build_helpers import (
    config_diff,
    docker_build,
    docker_config,
    docker_rootfs,
    dockyard_build,
    tree,
    tree_diff,
)
from _infra.go_images import go_toolchain_tar

pytestmark = [pytest.mark.privileged, pytest.mark.slow]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "multiplatform.md"
BOTH = "linux/amd64,linux/arm64"
TOOLCHAIN = "golang:1.19"

DOCKERFILE = """\
FROM --platform=$BUILDPLATFORM golang:1.19 AS builder
WORKDIR /app
COPY go.mod ./
RUN go mod download
COPY . .
ARG TARGETOS TARGETARCH
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \\
    go build -ldflags "-X main.builtOn=$(uname -m)" -o myapp .

FROM scratch
COPY --from=builder /app/myapp /usr/local/bin/myapp
CMD ["myapp"]
"""

GO_MOD = """\
module example.com/myapp

go 1.19
"""

MAIN_GO = """\
package main

import (
	"fmt"
	"runtime"
)

// builtOn is set when linking: the machine the compiler ran on (uname -m).
var builtOn = "unknown"

func main() {
	fmt.Printf("hello from %s/%s, built on %s\\n", runtime.GOOS, runtime.GOARCH, builtOn)
}
"""

EM_X86_64, EM_AARCH64 = 62, 183


@dataclass(frozen=True, slots=True)
class Built:
    store: Path
    context: Path
    log: str  # the build's plain progress output
    out: Path  # type=local output: one directory per platform


def _elf_machine(path: Path) -> tuple[int, int, int]:
    """(EI_CLASS, EI_DATA, e_machine) of an ELF file: (2, 1, …) is 64-bit little-endian."""
    with path.open("rb") as f:
        head = f.read(20)
    assert head[:4] == b"\x7fELF", head[:4]
    (machine,) = struct.unpack_from("<H", head, 18)
    return head[4], head[5], machine


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The example built once for both platforms, with binfmt_misc read from an empty directory:
    a RUN that needed emulation would stop the build before its first step."""
    ensure_qemu_aarch64()
    work = tmp_path_factory.mktemp("mp-go")
    store = work / "store"
    run_dockyard("import", "--platform", "linux/amd64", go_toolchain_tar(), TOOLCHAIN, root=store)
    ctx = work / "ctx"
    ctx.mkdir()
    for name, text in (("Dockerfile", DOCKERFILE), ("go.mod", GO_MOD), ("main.go", MAIN_GO)):
        (ctx / name).write_text(text)
    no_qemu = work / "binfmt_misc"
    no_qemu.mkdir()
    (no_qemu / "status").write_text("enabled\n")
    (no_qemu / "register").write_text("")
    out = work / "out"
    done = dockyard_build(
        store, ctx, "myapp:multi", "--platform", BOTH, out=out,
        env={"DOCKYARD_BINFMT_MISC": str(no_qemu)},
    )  # fmt: skip
    return Built(store, ctx, done.stderr, out)


def _outcomes(log: str, step: str) -> list[str]:
    """DONE/CACHED of the step whose line contains ``step``, per platform in ``BOTH``'s order."""
    found = []
    for platform in BOTH.split(","):
        mine = [
            line.removeprefix(f"[{platform}] ").split()
            for line in log.splitlines()
            if line.startswith(f"[{platform}] ")
        ]
        (number,) = {words[0] for words in mine if step in " ".join(words)}
        found += [w[1] for w in mine if w[:1] == [number] and w[1:2] in (["DONE"], ["CACHED"])]
    return found


def test_binaries_are_each_platforms_elf(built: Built) -> None:
    arm = built.out / "linux_arm64" / "usr" / "local" / "bin" / "myapp"
    amd = built.out / "linux_amd64" / "usr" / "local" / "bin" / "myapp"
    assert _elf_machine(arm) == (2, 1, EM_AARCH64)
    assert _elf_machine(amd) == (2, 1, EM_X86_64)
    # FROM scratch + one COPY: the binary is the whole image
    assert sorted(p.name for p in (built.out / "linux_arm64").rglob("*")) == [
        "bin", "local", "myapp", "usr",
    ]  # fmt: skip
    for platform, arch in (("linux/amd64", "amd64"), ("linux/arm64", "arm64")):
        image = run_dockyard("inspect", "--platform", platform, "myapp:multi", root=built.store)
        assert f'"Architecture": "{arch}"' in image.stdout


def test_compile_stage_ran_natively_and_shared_steps_once(built: Built) -> None:
    """No emulator was needed (the fixture's build had none), the steps before ``ARG TARGETARCH``
    ran for one platform and were taken by the other (the platforms build side by side), and
    ``go build`` ran once per platform, on the build machine (``uname -m`` linked into both
    binaries)."""
    assert sorted(_outcomes(built.log, "RUN go mod download")) == ["CACHED", "DONE"]
    assert sorted(_outcomes(built.log, "COPY . .")) == ["CACHED", "DONE"]
    assert _outcomes(built.log, "go build -ldflags") == ["DONE", "DONE"]
    for arch in ("amd64", "arm64"):
        binary = built.out / f"linux_{arch}" / "usr" / "local" / "bin" / "myapp"
        assert b"x86_64" in binary.read_bytes()  # main.builtOn
    # the toolchain image exists for linux/amd64 only: not pinning the stage is an error
    unpinned = built.context.parent / "unpinned"
    unpinned.mkdir()
    (unpinned / "Dockerfile").write_text(DOCKERFILE.replace("--platform=$BUILDPLATFORM ", ""))
    done = run_dockyard(
        "build", "--platform", "linux/arm64", unpinned, root=built.store, check=False
    )
    assert done.returncode == 1
    assert "base image golang:1.19 is for linux/amd64, not linux/arm64" in done.stderr


def test_arm64_binary_runs_under_qemu(built: Built) -> None:
    arm = run_dockyard("run", "--rm", "--platform", "linux/arm64", "myapp:multi", root=built.store)
    assert arm.stdout == "hello from linux/arm64, built on x86_64\n"
    amd = run_dockyard("run", "--rm", "myapp:multi", root=built.store)
    assert amd.stdout == "hello from linux/amd64, built on x86_64\n"


@pytest.mark.docker
def test_each_platform_equals_buildkit(dockerd: DockerDaemon, built: Built, tmp_path: Path) -> None:
    """The same Dockerfile through BuildKit, one platform per build: the same file tree
    (the Go binaries byte for byte) and the same config as dockyard's child for that platform."""
    dockerd.run("import", "--platform", "linux/amd64", str(go_toolchain_tar()), TOOLCHAIN)
    try:
        refused = dockerd.run(
            "build", "--platform", BOTH, built.context, check=False, env={"DOCKER_BUILDKIT": "1"}
        )
        # docker 20.10 takes one platform per build; a docker that takes a list should be
        # compared as an index instead
        assert refused.returncode != 0 and "invalid component" in refused.stderr, refused.stderr
        for arch in ("amd64", "arm64"):
            ref = f"myapp-bk:{arch}"
            docker_build(dockerd, built.context, ref, "--platform", f"linux/{arch}")
            theirs = docker_rootfs(dockerd, ref, tmp_path / arch)
            assert tree_diff(tree(theirs), tree(built.out / f"linux_{arch}")) == {}
            ours = run_dockyard(
                "inspect", "--platform", f"linux/{arch}", "myapp:multi", root=built.store
            ).stdout
            assert config_diff(docker_config(dockerd, ref), json.loads(ours)[0]["Config"]) == {}
            ran = dockerd.run(
                "run", "--rm", "--network", "none", "--platform", f"linux/{arch}", ref
            )
            assert ran.stdout == f"hello from linux/{arch}, built on x86_64\n"
    finally:  # the toolchain is 260 MB: leave the session's daemon as it was
        dockerd.run("rmi", "-f", TOOLCHAIN, "myapp-bk:amd64", "myapp-bk:arm64", check=False)


def test_docs_show_this_example() -> None:
    """``docs/multiplatform.md`` holds the Dockerfile and the Go files this module builds."""
    text = DOCS.read_text()
    for source in (DOCKERFILE, GO_MOD, MAIN_GO):
        assert source in text, source.splitlines()[0]
