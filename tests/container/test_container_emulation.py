"""``dockyard run --platform`` of a foreign platform: through qemu-user when a binfmt_misc
handler is registered (an arm64 busybox prints ``aarch64``), a one-line error naming the
command that installs one when it is not — before anything is created — and docker's
"does not match the specified platform" for an image of another platform."""

from __future__ import annotations

from pathlib import Path

import pytest

from _infra._cli import run_dockyard
from _infra.arm64_images import arm64_busybox_tar, ensure_qemu_aarch64

pytestmark = [pytest.mark.slow, pytest.mark.privileged]

ARM64_REF = "dockyard-test/busybox-arm64:1"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ensure_qemu_aarch64()
    work = tmp_path_factory.mktemp("emulated-run")
    tar = arm64_busybox_tar(work)
    store = work / "store"
    run_dockyard("import", "--platform", "linux/arm64", tar, ARM64_REF, root=store)
    return store


def test_a_foreign_image_runs_under_qemu(root: Path) -> None:
    done = run_dockyard("run", "--rm", "--platform", "linux/arm64", ARM64_REF, "uname", "-m",
                        root=root)  # fmt: skip
    assert done.stdout == "aarch64\n"


def test_a_missing_handler_is_one_line_before_anything_starts(root: Path, tmp_path: Path) -> None:
    (tmp_path / "register").touch()  # binfmt_misc "mounted", no handler registered
    done = run_dockyard("run", "--rm", "--platform", "linux/arm64", ARM64_REF, "true", root=root,
                        check=False, env={"DOCKYARD_BINFMT_MISC": str(tmp_path)})  # fmt: skip
    assert done.returncode == 125
    assert "cannot run containers for linux/arm64: no qemu-aarch64 binfmt_misc handler" in (
        done.stderr
    )
    assert "apt-get install qemu-user-static binfmt-support" in done.stderr
    containers = root / "containers"
    assert not containers.exists() or not [p for p in containers.iterdir() if p.name[0] != "."]


def test_an_image_of_another_platform_is_refused(root: Path) -> None:
    done = run_dockyard("run", "--rm", "--platform", "linux/amd64", ARM64_REF, "true", root=root,
                        check=False)  # fmt: skip
    assert done.returncode == 125
    assert "does not match the specified platform: wanted linux/amd64" in done.stderr
