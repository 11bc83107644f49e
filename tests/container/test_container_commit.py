"""``dockyard commit`` against ``docker commit`` on the same container changes: the new layer's
tar headers and contents, and the committed config with ``--change``, ``--message`` and
``--author``; a running container paused while it is committed (``--pause``, the default)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from _infra._cli import ROOT_ENV, dockyard_executable, run_dockyard
from _infra._dockerd import DockerDaemon
from _infra._images import BUSYBOX_REF, BuiltImage
from _infra.container_images import load_into_store

pytestmark = pytest.mark.slow

#: changes of every kind a layer holds: new, changed, removed (whiteout) and replaced (opaque)
#: directories and files, owners, modes, a symlink, a hard link
CHANGES = (
    "mkdir -p /newdir/sub && echo a > /newdir/sub/f && rm /etc/group && rm -r /tmp "
    "&& echo more >> /etc/passwd && mkdir /root/x && rm -r /usr && mkdir /usr && touch /usr/new "
    "&& echo owned > /owned && chown 1000:50 /owned && chmod 640 /owned "
    "&& mkdir -m 700 /private && chown 7:8 /private && ln -s /etc/passwd /link "
    "&& ln /newdir/sub/f /hard && chmod 4755 /newdir/sub"
)

#: ``docker commit`` flags, the same for both; each set on a container of its own
COMMITS: dict[str, list[str]] = {
    "plain": [],
    "changes": [
        "-c", "ENV GREETING=hi FROMPATH=$PATH",
        "-c", "WORKDIR sub",
        "-c", "WORKDIR deeper",
        "-c", 'CMD ["echo", "committed"]',
        "-c", "LABEL a=b",
        "-c", "EXPOSE 8080/tcp 53/udp",
        "-c", "USER 1000",
        "-c", "VOLUME /data",
        "-c", "ONBUILD RUN true",
        "-m", "a commit message",
        "-a", "Jane Doe <jane@example.com>",
    ],
    "entrypoint clears cmd": ["-c", 'ENTRYPOINT ["/bin/echo"]', "--message", "only ep"],
    "shell-form cmd": ["--change", "CMD echo $HOME", "--author", "someone"],
}  # fmt: skip

CONFIG_KEYS = (
    "Cmd", "Entrypoint", "Env", "WorkingDir", "User", "Labels", "ExposedPorts", "Volumes",
    "OnBuild",
)  # fmt: skip


@pytest.fixture(scope="module")
def store(
    dockerd: DockerDaemon, busybox_image: BuiltImage, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    work = tmp_path_factory.mktemp("commit")
    root = work / "store"
    load_into_store(dockerd, [busybox_image.ref], root, work)
    return root


def _dockyard(store: Path, *args: str) -> subprocess.CompletedProcess[Any]:
    return run_dockyard(*args, root=store, check=False)


def _unpack(archive: Path, out: Path) -> tuple[Path, dict[str, Any]]:
    """The last layer of the only image in a docker archive, and that image's config."""
    with tarfile.open(archive) as tar:
        tar.extractall(out, filter="data")
    (entry,) = json.loads((out / "manifest.json").read_text())
    return out / entry["Layers"][-1], json.loads((out / entry["Config"]).read_text())


def _headers(layer: Path) -> dict[str, tuple[object, ...]]:
    """Every member of ``layer``: type, permission bits, owner, link target, and its
    contents' digest."""
    got: dict[str, tuple[object, ...]] = {}
    with tarfile.open(layer) as tar:
        for m in tar.getmembers():
            data = tar.extractfile(m) if m.isreg() else None
            digest = hashlib.sha256(data.read()).hexdigest() if data is not None else ""
            name = m.name.rstrip("/").removeprefix("./")
            # a link's target; docker leaves a stale one on the whiteouts after the first (the
            # kernel's whiteouts share one inode, seen as hard links), which readers ignore
            link = m.linkname.removeprefix("./") if m.islnk() or m.issym() else ""
            # docker's Go tar writer also puts the file type bits (0o40000 …) in the mode
            got[name] = (m.type, oct(m.mode & 0o7777), m.uid, m.gid, link, digest)
    return got


def _subset(config: dict[str, Any]) -> dict[str, Any]:
    """The config fields compared, an empty value and a missing one alike (``null``)."""
    inner = config.get("config") or {}
    history = config["history"][-1]
    return {
        **{key: inner.get(key) or None for key in CONFIG_KEYS},
        "author": config.get("author") or None,
        "history": {k: history.get(k) or None for k in ("created_by", "comment", "author")},
    }


@pytest.mark.parametrize("case", list(COMMITS))
def test_commit_matches_docker_commit(
    dockerd: DockerDaemon, store: Path, tmp_path: Path, case: str
) -> None:
    flags = COMMITS[case]
    name = f"commit-{case.replace(' ', '-')}"
    dockerd.run("rm", "-f", name, check=False)
    run = ["--name", name, "-e", "FROM_RUN=1", BUSYBOX_REF, "sh", "-c", CHANGES]
    dockerd.run("run", "--network", "host", *run)
    dockerd.run("commit", *flags, name, f"dockyard-test/committed:{name}")
    dockerd.run("rm", name)
    dockerd.run("save", "-o", str(tmp_path / "theirs.tar"), f"dockyard-test/committed:{name}")
    dockerd.run("rmi", f"dockyard-test/committed:{name}")
    their_layer, their_config = _unpack(tmp_path / "theirs.tar", tmp_path / "theirs")

    assert _dockyard(store, "run", *run).returncode == 0
    committed = _dockyard(store, "commit", *flags, name, f"committed:{name}")
    assert committed.returncode == 0, committed.stderr
    assert committed.stdout.startswith("sha256:")
    saved = _dockyard(store, "save", "-o", str(tmp_path / "ours.tar"), f"committed:{name}")
    assert saved.returncode == 0, saved.stderr
    our_layer, our_config = _unpack(tmp_path / "ours.tar", tmp_path / "ours")

    ours, theirs = _headers(our_layer), _headers(their_layer)
    assert sorted(ours) == sorted(theirs)
    assert ours == theirs
    assert any(".wh." in n for n in ours)  # deletions are whiteouts
    assert _subset(our_config) == _subset(their_config)
    assert _dockyard(store, "rm", name).returncode == 0


def test_bad_changes_are_refused_like_docker(dockerd: DockerDaemon, store: Path) -> None:
    assert _dockyard(store, "run", "--name", "bad-change", BUSYBOX_REF, "true").returncode == 0
    dockerd.run("rm", "-f", "bad-change", check=False)
    dockerd.run("create", "--name", "bad-change", BUSYBOX_REF, "true")
    try:
        for change, message in (
            ("RUN true", "run is not a valid change command"),
            ("COPY a b", "copy is not a valid change command"),
        ):
            theirs = dockerd.run("commit", "-c", change, "bad-change", check=False)
            assert message in theirs.stderr
            ours = _dockyard(store, "commit", "-c", change, "bad-change", "x:1")
            assert (ours.returncode, ours.stderr) == (1, f"Error: {message}\n")
        ours = _dockyard(store, "commit", "-c", "ENV", "bad-change", "x:1")
        assert ours.returncode == 1 and ours.stderr.count("\n") == 1
        assert "ENV requires at least one argument" in ours.stderr
        assert "x" not in _dockyard(store, "images", "--format", "{{.Repository}}").stdout.split()
    finally:
        dockerd.run("rm", "-f", "bad-change", check=False)
        _dockyard(store, "rm", "bad-change")


def _start(store: Path, name: str, script: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [dockyard_executable(), "run", "--name", name, BUSYBOX_REF, "sh", "-c", script],
        stdout=subprocess.PIPE,
        env={**os.environ, ROOT_ENV: str(store)},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"up\n"
    return proc


#: a container that notes being continued (SIGCONT: it was stopped meanwhile) and then exits
CONTINUED = (
    "trap 'echo continued > /continued' CONT; echo before > /before; echo up; "
    "while [ ! -e /continued ]; do sleep 0.1; done; echo resumed"
)


def test_a_running_container_is_paused_while_committed(store: Path) -> None:
    """With crun (no cgroup, as dockyard runs containers) pausing stops every process of the
    container and continues it after: the shell's CONT trap runs once the layer is written,
    so its file is not in the image, and the container goes on to its end."""
    proc = _start(store, "paused", CONTINUED)
    assert proc.stdout is not None
    try:
        committed = _dockyard(store, "commit", "-p", "-m", "live", "paused", "committed:paused")
        assert committed.returncode == 0, committed.stderr
        assert proc.wait(timeout=120) == 0  # continued: its trap ended the loop
        assert proc.stdout.read() == b"resumed\n"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    check = "cat /before; test -e /continued || echo 'no /continued'"
    image = _dockyard(store, "run", "--rm", "committed:paused", "sh", "-c", check)
    assert (image.returncode, image.stdout) == (0, "before\nno /continued\n")
    assert _dockyard(store, "rm", "paused").returncode == 0


def test_pause_false_commits_without_stopping_it(store: Path) -> None:
    proc = _start(store, "unpaused", CONTINUED)
    assert proc.stdout is not None
    try:
        committed = _dockyard(store, "commit", "--pause=false", "unpaused", "committed:unpaused")
        assert committed.returncode == 0, committed.stderr
        assert proc.poll() is None  # never stopped, so never continued: still looping
        image = _dockyard(store, "run", "--rm", "committed:unpaused", "cat", "/before")
        assert (image.returncode, image.stdout) == (0, "before\n")
        assert _dockyard(store, "rm", "-f", "unpaused").returncode == 0
        assert proc.wait(timeout=60) == 137
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


CGROUP_UNIFIED = Path("/sys/fs/cgroup/unified")
SBIN_PATH = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"


def _no_hybrid_layout() -> str | None:
    """Why crun cannot be made to refuse this host (so that runc runs the container), or None:
    the same private-namespace layout as the builder's runtime-choice tests."""
    if shutil.which("unshare") is None or shutil.which("runc", path=SBIN_PATH) is None:
        return "unshare or runc is not installed"
    mounts = {
        line.split()[4]: line.split(" - ")[1].split()[0]
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
    }
    if mounts.get("/sys/fs/cgroup") != "tmpfs" or mounts.get(str(CGROUP_UNIFIED)) != "cgroup2":
        return "the host's cgroups are not v1 under a tmpfs with cgroup v2 at .../unified"
    return None


#: like CONTINUED, but it goes on until SIGTERM, saying whether it was continued meanwhile
ON_RUNC = (
    "trap 'echo continued' CONT; trap 'echo term; exit 42' TERM; echo before > /before; "
    "echo up; while :; do sleep 0.1; done"
)


@pytest.mark.skipif(_no_hybrid_layout() is not None, reason=str(_no_hybrid_layout()))
def test_a_running_container_on_runc_is_paused_by_the_runtime(store: Path, tmp_path: Path) -> None:
    """Where crun is refused (a hybrid cgroup layout, made in a private mount namespace) runc
    runs the container, in a cgroup: commit pauses it with ``runc pause`` (the freezer; a
    runc first on PATH notes its calls), so the container gets no SIGCONT, and resumes it, so
    it still answers SIGTERM."""
    real_runc = shutil.which("runc", path=SBIN_PATH)
    assert real_runc is not None
    calls = tmp_path / "runc-calls"
    wrapper = tmp_path / "bin" / "runc"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {real_runc} "$@"\n')
    wrapper.chmod(0o755)
    fake = tmp_path / "controllers"
    fake.write_text("hugetlb\n")
    setup = (
        ""
        if (CGROUP_UNIFIED / "cgroup.controllers").read_text().strip()
        else f"mount --bind {fake} {CGROUP_UNIFIED}/cgroup.controllers"
    )

    def in_namespace(*args: str) -> list[str]:
        script = f'set -e\n{setup}\nexec "$@"\n'
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *args]

    env = {**os.environ, ROOT_ENV: str(store), "PATH": f"{wrapper.parent}:{os.environ['PATH']}"}
    dockyard = str(dockyard_executable())
    run = in_namespace(dockyard, "run", "--name", "on-runc", BUSYBOX_REF, "sh", "-c", ON_RUNC)
    proc = subprocess.Popen(run, stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == b"up\n"
        state_root = store / "containers" / ".runtime" / "runc"
        (container_id,) = os.listdir(state_root)  # runc runs it
        committed = subprocess.run(
            in_namespace(dockyard, "commit", "on-runc", "committed:runc"),
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert committed.returncode == 0, committed.stderr
        said = [line.split()[-2:] for line in calls.read_text().splitlines()]
        assert said[-2:] == [["pause", container_id], ["resume", container_id]]
        state = subprocess.run(
            [real_runc, "--root", str(state_root), "state", container_id],
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(state.stdout)["status"] == "running"  # resumed
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 42
        assert proc.stdout.read() == b"term\n"  # frozen and thawed: no SIGCONT
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    image = _dockyard(store, "run", "--rm", "committed:runc", "cat", "/before")
    assert (image.returncode, image.stdout) == (0, "before\n")
    assert _dockyard(store, "rm", "on-runc").returncode == 0
