"""``dockyard build --platform a,b`` with a ``FROM --platform=$BUILDPLATFORM`` stage: the
platforms build at the same time, and the steps they share run once (BuildKit's in-flight
deduplication), with ``--no-cache`` too.

Overlap is shown without a clock: each platform's RUN step listens on a port of its own and
connects to the other's, and fails when the other platform's step is not running meanwhile.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

import pytest

from _infra import make_busybox_rootfs, run_dockyard, tar_rootfs
from _infra.arm64_images import arm64_busybox_tar, ensure_qemu_aarch64
from _infra.multiplatform import read_oci_archive

pytestmark = [pytest.mark.privileged, pytest.mark.slow]

BOTH = "linux/amd64,linux/arm64"
#: how long one platform's step waits for the other's (s): generous, it only bounds a failure
MEET_WAIT = 150

#: a shared stage on the build platform, then one RUN per platform that meets the other's
MEET_DOCKERFILE = f"""\
ARG TARGETARCH
FROM --platform=$BUILDPLATFORM bb:amd64 AS shared
RUN cat /proc/sys/kernel/random/uuid > /id && echo shared-step-ran
FROM bb:$TARGETARCH
ARG TARGETARCH PORT_AMD64 PORT_ARM64
COPY --from=shared /id /id
RUN if [ "$TARGETARCH" = amd64 ]; then me=$PORT_AMD64 peer=$PORT_ARM64; \\
    else me=$PORT_ARM64 peer=$PORT_AMD64; fi; \\
    busybox nc -l -p "$me" > /heard & \\
    i=0; until echo "$TARGETARCH" | busybox nc -w 2 127.0.0.1 "$peer"; do \\
      i=$((i+1)); [ "$i" -lt {MEET_WAIT} ] || {{ echo "no step on port $peer"; exit 9; }}; \\
      sleep 1; done; \\
    wait && uname -m > /arch
"""

#: a shared step that fails: it runs once, and both platforms fail with its error
FAILING_DOCKERFILE = """\
ARG TARGETARCH
FROM --platform=$BUILDPLATFORM bb:amd64 AS shared
RUN echo failing-step-ran && exit 3
FROM bb:$TARGETARCH
COPY --from=shared /etc/passwd /passwd
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store for the module with ``bb:amd64`` and ``bb:arm64`` (busybox of each)."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("platforms build side by side only on a machine with two cores or more")
    ensure_qemu_aarch64()
    work = tmp_path_factory.mktemp("multiplatform-parallel")
    root = work / "store"
    amd64 = tar_rootfs(make_busybox_rootfs(work / "rootfs-amd64"), work / "amd64.tar")
    run_dockyard("import", "--platform", "linux/amd64", amd64, "bb:amd64", root=root)
    run_dockyard(
        "import", "--platform", "linux/arm64", arm64_busybox_tar(work), "bb:arm64", root=root
    )
    return root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _build(
    store: Path, tmp_path: Path, dockerfile: str, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    ctx = tmp_path / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text(dockerfile)
    return run_dockyard(
        "build", "--progress", "plain", "--platform", BOTH, *args, ctx,
        root=store, check=check, timeout=900,
    )  # fmt: skip


def _logged(line: str, text: str) -> bool:
    """Whether ``line`` is a step's output line ``[platform] #N SECONDS text``."""
    return re.fullmatch(rf"\[linux/\w+\] #\d+ [\d.]+ {re.escape(text)}", line) is not None


def _outcomes(stderr: str, step: str) -> dict[str, str]:
    """Each platform's end state (DONE, CACHED, ERROR) of the step whose line has ``step``."""
    got: dict[str, str] = {}
    lines = stderr.splitlines()
    for platform in BOTH.split(","):
        mine = [
            line.removeprefix(f"[{platform}] ")
            for line in lines
            if line.startswith(f"[{platform}] ")
        ]
        (number,) = [line.split()[0] for line in mine if step in line and "[" in line]
        (got[platform],) = [
            line.split()[1].rstrip(":")
            for line in mine
            if line.split()[:1] == [number] and line.split()[1] in ("DONE", "CACHED", "ERROR:")
        ]
    return got


def test_platforms_overlap_and_the_shared_stage_runs_once(store: Path, tmp_path: Path) -> None:
    ports = {"PORT_AMD64": _free_port(), "PORT_ARM64": _free_port()}
    archive = tmp_path / "out.tar"
    args = [f"--build-arg={k}={v}" for k, v in ports.items()]
    done = _build(
        store, tmp_path, MEET_DOCKERFILE, *args, "--no-cache",
        "--output", f"type=oci,dest={archive}",
    )  # fmt: skip
    got = read_oci_archive(archive, tmp_path / "trees")
    amd, arm = got.roots["linux/amd64"], got.roots["linux/arm64"]
    # each platform's step heard the other's while it ran: they overlapped
    assert (amd / "heard").read_text() == "arm64\n"
    assert (arm / "heard").read_text() == "amd64\n"
    assert (amd / "arch").read_text() == "x86_64\n"
    assert (arm / "arch").read_text() == "aarch64\n"
    # the shared stage ran once, even with --no-cache: one uuid, one DONE, the other CACHED
    assert (amd / "id").read_text() == (arm / "id").read_text()
    outcomes = _outcomes(done.stderr, "RUN cat /proc/sys/kernel/random/uuid")
    assert sorted(outcomes.values()) == ["CACHED", "DONE"]
    ran = [line for line in done.stderr.splitlines() if _logged(line, "shared-step-ran")]
    assert len(ran) == 1, ran


def test_a_failing_shared_step_runs_once_and_fails_every_platform(
    store: Path, tmp_path: Path
) -> None:
    before = run_dockyard("images", "-q", "-a", "--no-trunc", root=store).stdout
    done = _build(store, tmp_path, FAILING_DOCKERFILE, "-t", "par:fails", check=False)
    assert done.returncode == 1, done.stderr
    assert _outcomes(done.stderr, "RUN echo failing-step-ran") == {
        "linux/amd64": "ERROR",
        "linux/arm64": "ERROR",
    }
    progress = [line for line in done.stderr.splitlines() if line.startswith("[linux/")]
    ran = [line for line in progress if _logged(line, "failing-step-ran")]
    assert len(ran) == 1, done.stderr  # run by one platform; the other took its failure
    assert "exit code: 3" in done.stderr
    assert run_dockyard("images", "-q", "-a", "--no-trunc", root=store).stdout == before
