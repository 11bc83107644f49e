"""``dockyard run`` against ``docker run --network host`` on the same images, and the
container's life after it: ``ps``, ``rm``, ``commit``, ``container prune``."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from _infra._cli import ROOT_ENV, dockyard_executable, run_dockyard
from _infra._dockerd import DockerDaemon
from _infra._images import BUSYBOX_REF, BuiltImage
from _infra.container_images import APP_REF, build_app_image, load_into_store

pytestmark = pytest.mark.slow


class Env:
    def __init__(self, docker: DockerDaemon, root: Path, work: Path) -> None:
        self.docker = docker
        self.root = root
        self.work = work

    def dockyard(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[Any]:
        return run_dockyard(*args, root=self.root, check=check)

    def containers(self) -> list[str]:
        where = self.root / "containers"  # made by the first run
        names = (p.name for p in where.iterdir()) if where.is_dir() else iter(())
        return sorted(n for n in names if not n.startswith("."))


@pytest.fixture(scope="module")
def env(
    dockerd: DockerDaemon, busybox_image: BuiltImage, tmp_path_factory: pytest.TempPathFactory
) -> Env:
    work = tmp_path_factory.mktemp("run")
    build_app_image(dockerd, work / "app")
    root = work / "store"
    load_into_store(dockerd, [busybox_image.ref, APP_REF], root, work)
    (work / "vol").mkdir()
    (work / "vol" / "f").write_text("from the host\n")
    (work / "env.list").write_text("# comment\nFROM_FILE=1\n\nGREETING=file\n")
    return Env(dockerd, root, work)


def _cases(work: str) -> list[tuple[str, list[str]]]:
    bb, app = BUSYBOX_REF, APP_REF
    return [
        ("exit 0", [bb, "true"]),
        ("exit 3", [bb, "sh", "-c", "echo out; exit 3"]),
        ("126 not executable", [bb, "/etc/passwd"]),
        ("126 directory", [bb, "/etc"]),
        ("127 not found", [bb, "nosuch"]),
        ("127 no such path", [bb, "/no/such"]),
        ("env default", [bb, "env"]),
        ("image config", [app]),
        ("image env", [app, "env"]),
        ("cmd override", [app, "echo $0 $GREETING", "zero"]),
        ("entrypoint override", ["--entrypoint", "/bin/echo", app, "a", "b"]),
        ("entrypoint resets cmd", ["--entrypoint", "/bin/pwd", app]),
        ("workdir", ["-w", "/new/dir", app, "pwd; ls -ld /new/dir"]),
        ("user name", ["-u", "app", app, "id; echo $HOME"]),
        ("user uid", ["-u", "1000", bb, "id"]),
        ("user uid:gid", ["-u", "1000:50", bb, "sh", "-c", "id; echo $HOME"]),
        ("user unknown uid", ["-u", "4242", bb, "sh", "-c", "id; echo $HOME"]),
        ("-e", ["-e", "GREETING=bye", "-e", "NEW=1", app, "env"]),
        ("-e PATH", ["-e", "PATH=/bin", bb, "env"]),
        ("--env-file", ["--env-file", f"{work}/env.list", "-e", "X=y", app, "env"]),
        ("volume rw", ["-v", f"{work}/vol:/mnt", bb, "sh", "-c", "cat /mnt/f; touch /mnt/rw"]),
        ("volume ro", ["-v", f"{work}/vol:/mnt:ro", bb, "sh", "-c", "touch /mnt/x; echo $?"]),
        ("image volume", [app, "ls /srv/data; cat /srv/data/seed"]),
        ("read-only", ["--read-only", bb, "sh", "-c", "touch /x 2>/dev/null; echo $?"]),
        (
            "tmpfs",
            ["--read-only", "--tmpfs", "/scratch", bb, "sh", "-c", "touch /scratch/x; echo $?"],
        ),
        ("hostname", ["--hostname", "box", bb, "sh", "-c", "hostname; cat /etc/hostname"]),
    ]


CASES = _cases("{work}")


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_run_matches_docker(env: Env, name: str) -> None:
    args = dict(_cases(str(env.work)))[name]
    theirs = env.docker.run("run", "--rm", "--network", "host", *args, check=False)
    ours = env.dockyard("run", "--rm", *args)
    assert (ours.stdout, ours.returncode) == (theirs.stdout, theirs.returncode), ours.stderr
    if ours.returncode in (126, 127):
        assert ours.stderr.count("\n") == 1 and "exec: " in ours.stderr


def _read_until(fd: int, wanted: bytes, timeout: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"{wanted!r} not seen; got {seen!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    return seen


def test_tty_echoes(env: Env) -> None:
    main, secondary = pty.openpty()
    proc = subprocess.Popen(
        [dockyard_executable(), "run", "--rm", "-it", BUSYBOX_REF, "sh"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env={**os.environ, ROOT_ENV: str(env.root)},
        start_new_session=True,
    )
    os.close(secondary)
    try:
        os.write(main, b"tty; echo mark$((40+2))\n")
        seen = _read_until(main, b"mark42")
        assert b"echo mark$((40+2))" in seen  # the terminal echoed what was typed
        assert b"/dev/pts/" in seen  # the shell's stdin is a pty
        os.write(main, b"exit 5\n")
        assert proc.wait(timeout=30) == 5
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)


def test_sigterm_is_forwarded(env: Env) -> None:
    script = 'trap "echo trapped; exit 42" TERM; echo ready; while :; do sleep 0.1; done'
    proc = subprocess.Popen(
        [dockyard_executable(), "run", "--rm", BUSYBOX_REF, "sh", "-c", script],
        stdout=subprocess.PIPE,
        env={**os.environ, ROOT_ENV: str(env.root)},
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 42
        assert proc.stdout.read() == b"trapped\n"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def _mounts_under(root: Path) -> list[str]:
    return [
        line.split()[4]
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if line.split()[4].startswith(str(root))
    ]


def test_rm_leaves_nothing(env: Env) -> None:
    before = env.containers()
    result = env.dockyard("run", "--rm", BUSYBOX_REF, "sh", "-c", "echo x > /f")
    assert result.returncode == 0
    assert env.containers() == before
    assert _mounts_under(env.root) == []


@pytest.mark.parametrize(
    "args",
    [
        ["dockyard-test/nosuch:1"],
        ["-v", "relative:/mnt", BUSYBOX_REF, "true"],
        ["-v", "/tmp", BUSYBOX_REF, "true"],
        ["--platform", "linux/s390x", BUSYBOX_REF, "true"],
        ["--entrypoint", "", BUSYBOX_REF],
    ],
    ids=["unknown image", "named volume", "bad -v", "bad platform", "no command"],
)
def test_bad_input_is_one_line_and_125(env: Env, args: list[str]) -> None:
    before = env.containers()
    result = env.dockyard("run", "--rm", "--name", "bad", *args)
    assert result.returncode == 125
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert env.containers() == before
    assert _mounts_under(env.root) == []


@pytest.mark.parametrize(
    ("platform", "message"),
    [
        ("linux/bogus", "dockyard: unknown architecture 'bogus' in platform 'linux/bogus' (use "),
        ("windows/amd64", "dockyard: cannot run platform 'windows/amd64': only linux containers"),
    ],
)
def test_unknown_platform_is_named_not_sent_to_qemu(env: Env, platform: str, message: str) -> None:
    """An unknown platform gets the build's wording, not advice to install a qemu handler."""
    before = env.containers()
    result = env.dockyard("run", "--rm", "--platform", platform, BUSYBOX_REF, "true")
    assert result.returncode == 125
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1 and "qemu" not in result.stderr
    assert env.containers() == before
    assert "a foreign one runs under qemu" in " ".join(env.dockyard("run", "--help").stdout.split())


def test_ps_rm_and_names(env: Env) -> None:
    assert env.dockyard("run", "--name", "kept", BUSYBOX_REF, "sh", "-c", "exit 7").returncode == 7
    taken = env.dockyard("run", "--name", "kept", BUSYBOX_REF, "true")
    assert taken.returncode == 125 and "already in use" in taken.stderr
    rows = [
        json.loads(line)
        for line in env.dockyard("ps", "-a", "--format", "json").stdout.splitlines()
    ]
    kept = [r for r in rows if r["Names"] == "kept"]
    assert len(kept) == 1 and kept[0]["ExitCode"] == 7 and kept[0]["State"] == "exited"
    assert env.dockyard("ps").stdout.count("\n") == 1  # the header: nothing runs
    assert env.dockyard("run", BUSYBOX_REF, "true").returncode == 0
    auto = [
        json.loads(line)["Names"]
        for line in env.dockyard("ps", "-a", "--format", "json").stdout.splitlines()
    ]
    assert any("_" in n and n != "kept" for n in auto)  # docker-style adjective_name
    assert env.dockyard("rm", "kept").stdout == "kept\n"
    assert env.dockyard("rm", "kept").returncode == 1
    pruned = env.dockyard("container", "prune", "-f")
    assert pruned.returncode == 0
    assert env.containers() == []


def _layer_names(tar_path: Path) -> set[str]:
    with tarfile.open(tar_path) as tar:
        return {m.name.rstrip("/").removeprefix("./") for m in tar.getmembers()}


def _docker_last_layer(docker: DockerDaemon, ref: str, work: Path) -> set[str]:
    archive = work / "committed.tar"
    docker.run("save", "-o", str(archive), ref)
    out = work / "committed"
    with tarfile.open(archive) as tar:
        tar.extractall(out, filter="data")
    manifest = json.loads((out / "manifest.json").read_text())
    return _layer_names(out / manifest[0]["Layers"][-1])


CHANGES = (
    "mkdir -p /newdir/sub && echo a > /newdir/sub/f && rm /etc/group && rm -r /tmp "
    "&& echo more >> /etc/passwd && mkdir /root/x && rm -r /usr && mkdir /usr && touch /usr/new"
)


def test_commit_matches_docker_commit(env: Env) -> None:
    docker = env.docker
    docker.run("rm", "-f", "committed-src", check=False)
    docker.run(
        "run", "--network", "host", "--name", "committed-src", BUSYBOX_REF, "sh", "-c", CHANGES
    )
    docker.run("commit", "committed-src", "dockyard-test/committed:docker")
    docker.run("rm", "committed-src")
    theirs = _docker_last_layer(docker, "dockyard-test/committed:docker", env.work)

    assert env.dockyard("run", "--name", "src", BUSYBOX_REF, "sh", "-c", CHANGES).returncode == 0
    committed = env.dockyard("commit", "src", "dockyard-test/committed:ours")
    assert committed.returncode == 0, committed.stderr
    env.dockyard(
        "save", "-o", str(env.work / "ours.tar"), "dockyard-test/committed:ours", check=True
    )
    out = env.work / "ours"
    with tarfile.open(env.work / "ours.tar") as tar:
        tar.extractall(out, filter="data")
    index = json.loads((out / "manifest.json").read_text())
    ours = _layer_names(out / index[0]["Layers"][-1])
    assert ours == theirs
    assert any(".wh." in n for n in ours)  # deletions are whiteouts
    # the new image runs, with the committed changes
    check = env.dockyard("run", "--rm", "dockyard-test/committed:ours", "cat", "/newdir/sub/f")
    assert (check.returncode, check.stdout) == (0, "a\n")
    env.dockyard("rm", "src", check=True)


def test_rm_force_kills_a_running_container(env: Env) -> None:
    proc = subprocess.Popen(
        [
            dockyard_executable(),
            "run",
            "--name",
            "busy",
            BUSYBOX_REF,
            "sh",
            "-c",
            "echo up; sleep 60",
        ],
        stdout=subprocess.PIPE,
        env={**os.environ, ROOT_ENV: str(env.root)},
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == b"up\n"
        assert "busy" in env.dockyard("ps").stdout
        refused = env.dockyard("rm", "busy")
        assert refused.returncode == 1 and "running" in refused.stderr
        assert env.dockyard("rm", "-f", "busy").stdout == "busy\n"
        assert proc.wait(timeout=30) == 137
        assert "busy" not in env.dockyard("ps", "-a").stdout
        assert _mounts_under(env.root) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
