"""The OCI runtime for RUN on a host whose cgroup layout stops crun.

On a hybrid host (cgroup v1 controllers under /sys/fs/cgroup/*, and a cgroup v2 hierarchy at
/sys/fs/cgroup/unified with a controller enabled, as after installing docker.io on Debian 12)
crun refuses every container: "cgroups in hybrid mode not supported", whatever the cgroup
manager or the spec. The default choice must then be runc, with no step from the user.

Each test builds that layout in a private mount namespace (``unshare --mount``), leaving the
host as it is. A controller can be enabled on cgroup v2 only when no v1 hierarchy holds it, and
on a host like this one every v2-capable controller is held by a v1 hierarchy that the host's
dockerd uses; freeing one would change the host for everyone. So, in the namespace only, a file
naming a controller is bind-mounted over /sys/fs/cgroup/unified/cgroup.controllers: every
process there (crun above all) then sees what a hybrid host with a v2 controller shows, the same
file systems at the same places and a non-empty list of v2 controllers. Each test first shows
that the real crun refuses that layout, so that it cannot pass without reproducing the refusal.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from _infra import ROOT_ENV, dockyard_executable, make_busybox_rootfs
from dockyard.builder.worker._cgroups import crun_refusal
from dockyard.builder.worker._spec import ProcessSpec, runtime_spec
from dockyard.builder.worker._users import ResolvedUser

CGROUP_ROOT = Path("/sys/fs/cgroup")
UNIFIED = CGROUP_ROOT / "unified"
CRUN_HYBRID_REFUSAL = "cgroups in hybrid mode not supported"
RUNTIME_LOGGER_LINE = "using runc for RUN steps"


def _mount_types() -> dict[str, str]:
    """Mount point → file system type of the topmost mount there (this process's view)."""
    types: dict[str, str] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        sep = fields.index("-")
        types[fields[4]] = fields[sep + 1]
    return types


def _hybrid_host_shape() -> str | None:
    """Why the hybrid layout cannot be made here, or None."""
    if os.geteuid() != 0:
        return "needs root (mount namespaces, bind mounts)"
    for tool in ("unshare", "mount", "crun", "runc"):
        if shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None:
            return f"{tool} is not installed"
    types = _mount_types()
    if types.get(str(CGROUP_ROOT)) != "tmpfs" or types.get(str(UNIFIED)) != "cgroup2":
        return "the host's cgroups are not v1 under a tmpfs with cgroup v2 at .../unified"
    return None


pytestmark = [
    pytest.mark.privileged,
    pytest.mark.slow,
    pytest.mark.skipif(_hybrid_host_shape() is not None, reason=str(_hybrid_host_shape())),
]


def _hybrid_setup(tmp: Path) -> str:
    """Shell commands turning a private mount namespace into a hybrid layout with a v2
    controller (none when the host already is one)."""
    if (UNIFIED / "cgroup.controllers").read_text().strip():
        return ""
    fake = tmp / "unified-controllers"
    fake.write_text("hugetlb\n")
    return f"mount --bind {fake} {UNIFIED}/cgroup.controllers"


#: Layouts of /sys/fs/cgroup, each made in a private mount namespace by these shell commands.
LAYOUTS: dict[str, Callable[[Path], str]] = {
    "as-is": lambda tmp: "",
    "hybrid-with-v2-controller": _hybrid_setup,
    "no-cgroups": lambda tmp: f"umount -R {CGROUP_ROOT}",
    "unified": lambda tmp: f"umount -R {CGROUP_ROOT} && mount -t cgroup2 cgroup2 {CGROUP_ROOT}",
}


def in_namespace(
    setup: str, *cmd: str | os.PathLike[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in a new private mount namespace after the shell commands ``setup``."""
    script = f'set -e\n{setup}\nexec "$@"\n'
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *cmd],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )


def crun_bundle(tmp: Path) -> Path:
    """A bundle running /bin/true in busybox, with the spec dockyard gives a RUN step."""
    bundle = tmp / "bundle"
    rootfs = make_busybox_rootfs(bundle / "rootfs")
    process = ProcessSpec(args=("/bin/true",), env=(), cwd="/", user=ResolvedUser(0, 0))
    (bundle / "config.json").write_text(json.dumps(runtime_spec(rootfs, process)))
    return bundle


def run_crun(setup: str, bundle: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    """crun as dockyard runs it (``--cgroup-manager=disabled``) in the layout ``setup`` makes."""
    crun = shutil.which("crun", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    assert crun is not None
    state = tmp / "crun-state"
    name = f"probe-{os.getpid()}"
    args = ["--root", str(state), "--cgroup-manager=disabled", "run", "--bundle", str(bundle)]
    done = in_namespace(setup, crun, *args, name)
    subprocess.run([crun, "--root", str(state), "delete", "--force", name], capture_output=True)
    return done


def dockyard_in_namespace(
    setup: str, root: Path, *args: str | os.PathLike[str]
) -> subprocess.CompletedProcess[str]:
    return in_namespace(setup, dockyard_executable(), *args, env={ROOT_ENV: str(root)})


def _context(tmp: Path) -> Path:
    ctx = tmp / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM busybox:test\nRUN echo first-step-ran > /first\nRUN cat /first && echo second\n"
    )
    return ctx


@pytest.fixture
def hybrid(tmp_path: Path) -> str:
    """The setup of the hybrid layout, checked to stop the real crun."""
    setup = _hybrid_setup(tmp_path)
    done = run_crun(setup, crun_bundle(tmp_path), tmp_path)
    assert done.returncode != 0 and CRUN_HYBRID_REFUSAL in done.stdout + done.stderr, done
    return setup


def test_default_runtime_builds_on_a_hybrid_host_and_says_why_once_with_debug(
    hybrid: str, dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = _context(tmp_path)
    done = dockyard_in_namespace(
        hybrid, dockyard_root, "build", "--debug", "--progress", "plain", "-t", "app:1", ctx
    )
    assert done.returncode == 0, done.stderr
    assert CRUN_HYBRID_REFUSAL not in done.stderr
    assert "first-step-ran" in done.stderr and "second" in done.stderr  # both RUNs ran
    said = [line for line in done.stderr.splitlines() if RUNTIME_LOGGER_LINE in line]
    assert len(said) == 1, done.stderr  # once per build, though two steps ran
    assert "crun" in said[0] and "hybrid" in said[0]
    # without --debug the choice is silent
    quiet = dockyard_in_namespace(
        hybrid, dockyard_root, "build", "--no-cache", "--progress", "plain", ctx
    )
    assert quiet.returncode == 0, quiet.stderr
    assert RUNTIME_LOGGER_LINE not in quiet.stderr


def test_explicit_crun_on_a_hybrid_host_is_a_one_line_error_suggesting_runc(
    hybrid: str, dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = _context(tmp_path)
    done = dockyard_in_namespace(
        hybrid, dockyard_root, "build", "--runtime", "crun", "--progress", "plain", ctx
    )
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, done.stderr
    assert "crun" in errors[0] and "hybrid" in errors[0] and "--runtime runc" in errors[0]
    assert "did not complete successfully" not in done.stderr  # refused before any RUN
    # and runc, asked for, works there
    ok = dockyard_in_namespace(
        hybrid, dockyard_root, "build", "--runtime", "runc", "--progress", "plain", ctx
    )
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_refusal_dockyard_predicts_is_the_one_crun_makes(layout: str, tmp_path: Path) -> None:
    setup = LAYOUTS[layout](tmp_path)
    crun = run_crun(setup, crun_bundle(tmp_path), tmp_path)
    probe = "from dockyard.builder.worker._cgroups import crun_refusal; print(crun_refusal() or '')"
    predicted = in_namespace(setup, sys.executable, "-c", probe)
    assert predicted.returncode == 0, predicted.stderr
    reason = predicted.stdout.strip()
    assert (crun.returncode == 0) == (reason == ""), (layout, crun, reason)
    if CRUN_HYBRID_REFUSAL in crun.stdout + crun.stderr:
        assert "hybrid" in reason


def test_info_names_the_runtime_build_and_run_choose(hybrid: str, dockyard_root: Path) -> None:
    """``info`` says what ``build`` and ``run`` will use, not just the first one installed."""
    as_is = dockyard_in_namespace("", dockyard_root, "info", "--format", "json")
    assert as_is.returncode == 0, as_is.stderr
    expected = "runc" if crun_refusal() else "crun"  # the host as it is
    assert json.loads(as_is.stdout)["DefaultRuntime"] == expected, as_is.stdout
    done = dockyard_in_namespace(hybrid, dockyard_root, "info")
    assert done.returncode == 0, done.stderr
    lines = [line.strip() for line in done.stdout.splitlines()]
    assert "Default Runtime: runc" in lines, done.stdout
    assert "Runtimes: crun runc" in lines, done.stdout  # crun is still installed
    raw = dockyard_in_namespace(hybrid, dockyard_root, "info", "--format", "json")
    assert json.loads(raw.stdout)["DefaultRuntime"] == "runc", raw.stdout


def test_run_on_a_hybrid_host_uses_runc_and_says_why_once_with_debug(
    hybrid: str, dy_busybox: str, dockyard_root: Path
) -> None:
    """``dockyard run`` makes the same choice as ``build``, worded for containers."""
    done = dockyard_in_namespace(
        hybrid, dockyard_root, "run", "--debug", "--rm", dy_busybox, "sh", "-c", "echo ran"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ran\n"
    said = [line for line in done.stderr.splitlines() if "using runc for" in line]
    assert len(said) == 1, done.stderr  # once, though the run asks for the runtime twice
    assert said[0].startswith("DEBUG: using runc for containers: crun cannot run them here: ")
    assert "hybrid" in said[0] and CRUN_HYBRID_REFUSAL not in done.stderr
    quiet = dockyard_in_namespace(hybrid, dockyard_root, "run", "--rm", dy_busybox, "true")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""  # without --debug the choice is silent


def _hide_runtimes() -> str:
    """Shell commands hiding every installed crun and runc (bind-mounting /dev/null, which
    cannot be executed, over each binary) in the private mount namespace."""
    dirs = [*os.environ.get("PATH", "").split(os.pathsep), "/usr/local/sbin", "/usr/sbin", "/sbin"]
    found = {
        os.path.realpath(path)
        for d in dirs
        if d
        for name in ("crun", "runc")
        if os.path.isfile(path := os.path.join(d, name))
    }
    assert found
    return "\n".join(f"mount --bind /dev/null {path}" for path in sorted(found))


def test_run_without_a_runtime_is_one_line_125_and_leaves_nothing(
    dy_busybox: str, dockyard_root: Path
) -> None:
    before = dockyard_in_namespace("", dockyard_root, "ps", "-a", "--format", "json")
    done = dockyard_in_namespace(
        _hide_runtimes(), dockyard_root, "run", "--rm", "--name", "nort", dy_busybox, "true"
    )
    assert done.returncode == 125, done.stderr
    assert done.stdout == ""
    assert done.stderr == (
        "dockyard: no OCI runtime to run containers: crun and runc not found (install the "
        "Debian package crun or runc (apt-get install crun))\n"
    )
    kept = dockyard_in_namespace(
        _hide_runtimes(), dockyard_root, "run", "--name", "nort", dy_busybox, "true"
    )
    assert kept.returncode == 125 and kept.stderr == done.stderr  # without --rm too
    after = dockyard_in_namespace("", dockyard_root, "ps", "-a", "--format", "json")
    assert after.returncode == 0 and after.stdout == before.stdout
    assert not [p for p in (dockyard_root / "containers").glob("*") if not p.name.startswith(".")]
