"""``dockyard ps`` against ``docker ps`` on the same containers: ``-n/--last``, ``-l/--latest``,
``--filter`` (status, exited, name, id, ancestor, before, since; one key's values OR'ed,
different keys AND'ed), ``--no-trunc``, ``-s/--size`` and ``--format json``.

The same five containers are made in both, in the same order, from the same images: one still
running, two exited with 0 and 3, one whose change is committed as a child image, and one of
that child image. Every listing is compared by container name."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra import make_busybox_rootfs, run_dockyard, tar_rootfs
from _infra._cli import ROOT_ENV, dockyard_executable
from _infra._dockerd import DockerDaemon

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.privileged]

BOX, CHILD = "psx/box:1", "psx/child:1"
LONG = "echo a command line longer than twenty characters"
#: (name, image, command) in the order they are created; psx-up keeps running
CONTAINERS = (
    ("psx-up", BOX, ["sh", "-c", "echo up; exec sleep 600"]),
    ("psx-one", BOX, ["true"]),
    ("psx-two", BOX, ["sh", "-c", "exit 3"]),
    ("psx-maker", BOX, ["sh", "-c", "head -c 5000 /dev/zero > /big"]),
    ("psx-child", CHILD, ["sh", "-c", LONG]),
)
#: the keys of each ``ps --format json`` line: docker's that dockyard has, and the exit status
PS_JSON_KEYS = {"ID", "Image", "Command", "CreatedAt", "RunningFor", "Status", "State", "Names"}


@dataclass
class Both:
    dockerd: DockerDaemon
    store: Path

    def dockyard(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done: subprocess.CompletedProcess[str] = run_dockyard(*args, root=self.store, check=check)
        return done

    def names(self, tool: str, *args: str) -> list[str]:
        listing = ("ps", *args, "--format", "{{.Names}}")
        if tool == "docker":
            return str(self.dockerd.run(*listing).stdout).split()
        return self.dockyard(*listing).stdout.split()

    def container_id(self, tool: str, name: str) -> str:
        if tool == "docker":
            return str(self.dockerd.run("inspect", "--format", "{{.Id}}", name).stdout).strip()
        ids = self.dockyard("ps", "-a", "-q", "--no-trunc", "-f", f"name=^/{name}$").stdout
        return ids.strip()

    def image_id(self, tool: str, ref: str) -> str:
        if tool == "docker":
            shown = self.dockerd.run("image", "inspect", "--format", "{{.Id}}", ref).stdout
            return str(shown).strip()
        return str(json.loads(self.dockyard("inspect", ref).stdout)[0]["Id"])


@pytest.fixture(scope="module")
def both(dockerd: DockerDaemon, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Both]:
    work = tmp_path_factory.mktemp("cli-ps")
    store = work / "store"
    tar = tar_rootfs(make_busybox_rootfs(work / "rootfs"), work / "box.tar")
    run_dockyard("import", tar, BOX, root=store)
    saved = work / "box.docker.tar"
    run_dockyard("save", "-o", saved, BOX, root=store)
    dockerd.run("load", "-i", str(saved))
    pair = Both(dockerd, store)
    running: subprocess.Popen[bytes] | None = None
    try:
        for name, image, command in CONTAINERS:
            if name == "psx-up":
                dockerd.run("run", "-d", "--network", "host", "--name", name, image, *command)
                running = subprocess.Popen(
                    [dockyard_executable(), "run", "--name", name, image, *command],
                    stdout=subprocess.PIPE,
                    env={**os.environ, ROOT_ENV: str(store)},
                )
                assert running.stdout is not None and running.stdout.readline() == b"up\n"
                continue
            status = 3 if name == "psx-two" else 0
            ran = dockerd.run("run", "--network", "host", "--name", name, image, *command,
                              check=False)  # fmt: skip
            assert ran.returncode == status, ran.stderr
            ran = pair.dockyard("run", "--name", name, image, *command, check=False)
            assert ran.returncode == status, ran.stderr
            if name == "psx-maker":
                dockerd.run("commit", name, CHILD)
                pair.dockyard("commit", name, CHILD)
        yield pair
    finally:
        dockerd.run("rm", "-f", *(name for name, _, _ in CONTAINERS), check=False)
        dockerd.run("rmi", CHILD, BOX, check=False)
        if running is not None:
            pair.dockyard("rm", "-f", "psx-up", check=False)
            running.wait(timeout=60)
            assert running.stdout is not None
            running.stdout.close()


#: ps arguments whose listings must name the same containers in the same order; each also gets
#: ``--filter name=^/psx-`` (other tests' containers live in the same dockerd) unless it filters
#: on names itself
CASES: tuple[list[str], ...] = (
    [],
    ["-a"],
    ["-l"],
    ["--latest", "-f", "status=running"],
    ["-n", "2"],
    ["--last", "3", "-f", "exited=0"],
    ["-n", "0"],
    ["-f", "status=exited"],
    ["-f", "status=running"],
    ["-f", "status=exited", "-f", "status=running"],
    ["-f", "status=created"],
    ["-a", "-f", "exited=3"],
    ["-f", "exited=3"],
    ["-a", "-f", "exited=0", "-f", "exited=3"],
    ["-a", "-f", "name=psx-on"],
    ["-a", "-f", "name=^/psx-t"],
    ["-a", "-f", "name=psx-one", "-f", "name=psx-two"],
    ["-f", "status=running", "-f", "name=psx-"],
    ["-a", "-f", f"ancestor={CHILD}"],
    ["-a", "-f", f"ancestor={BOX}"],
    ["-a", "-f", "ancestor=psx/nosuch:1"],
    ["-f", "before=psx-maker"],  # running ones only, as without the filter
    ["-a", "-f", "before=psx-maker"],
    ["-f", "since=psx-one"],
    ["-a", "-f", "since=psx-one"],
    ["-f", "since=psx-one", "-n", "2"],
    ["-f", "before=psx-child", "-f", "status=exited"],
)


@pytest.mark.parametrize("args", CASES, ids=[" ".join(c) or "(none)" for c in CASES])
def test_listings_equal_docker_ps(both: Both, args: list[str]) -> None:
    if not any(a.startswith("name=") for a in args):
        args = [*args, "-f", "name=^/psx-"]
    assert both.names("dockyard", *args) == both.names("docker", *args)


def test_id_and_image_id_filters_equal_docker_ps(both: Both) -> None:
    for tool in ("docker", "dockyard"):
        two = both.container_id(tool, "psx-two")
        assert len(two) == 64
        assert both.names(tool, "-a", "-f", f"id={two[:10]}") == ["psx-two"], tool
        child = both.image_id(tool, CHILD).removeprefix("sha256:")
        filtered = ["-a", "-f", f"ancestor={child[:12]}", "-f", "name=^/psx-"]
        assert both.names(tool, *filtered) == ["psx-child"], tool


def test_no_trunc_quiet_and_command(both: Both) -> None:
    short = both.dockyard("ps", "-a", "-q", "-f", "name=^/psx-").stdout.split()
    full = both.dockyard("ps", "-a", "-q", "--no-trunc", "-f", "name=^/psx-").stdout.split()
    assert len(short) == len(full) == len(CONTAINERS)
    assert [len(i) for i in short] == [12] * 5 and [len(i) for i in full] == [64] * 5
    assert [f[:12] for f in full] == short
    listing = ["ps", "-a", "-f", "name=psx-child", "--format", "{{.Command}}"]
    for extra in ([], ["--no-trunc"]):
        ours = both.dockyard(*listing, *extra).stdout
        assert ours == both.dockerd.run(*listing, *extra).stdout, extra
    assert ours == f"\"sh -c '{LONG}'\"\n"
    table = both.dockyard("ps", "-a", "--no-trunc", "-f", "name=psx-child").stdout.splitlines()
    assert table[0].split()[:3] == ["CONTAINER", "ID", "IMAGE"] and full[0] in table[1]


def test_size(both: Both) -> None:
    """``-s`` adds docker's SIZE column: the writable layer, and with the image under it."""
    table = both.dockyard("ps", "-a", "-s", "-f", "name=psx-maker").stdout.splitlines()
    assert table[0].split()[-1] == "SIZE" and len(table) == 2
    sizes = {}
    for tool in ("docker", "dockyard"):
        run = both.dockerd.run if tool == "docker" else both.dockyard
        listing = run("ps", "-a", "-s", "-f", "name=^/psx-", "--format", "{{.Names}}|{{.Size}}")
        sizes[tool] = dict(line.split("|") for line in listing.stdout.splitlines())
    for name in ("psx-one", "psx-maker"):
        ours, theirs = sizes["dockyard"][name], sizes["docker"][name]
        assert ours.split(" (virtual ")[0] == theirs.split(" (virtual ")[0], (name, ours, theirs)
        assert ours.endswith("B)") and " (virtual " in ours
    assert sizes["dockyard"]["psx-maker"].startswith("5kB (virtual ")


def test_json_lines(both: Both) -> None:
    listed = both.dockyard("ps", "-a", "--format", "json", "-f", "name=^/psx-t").stdout
    (row,) = [json.loads(line) for line in listed.splitlines()]
    assert set(row) == PS_JSON_KEYS | {"Size", "ExitCode"}, row
    assert (row["Names"], row["State"], row["ExitCode"]) == ("psx-two", "exited", 3)
    assert len(row["ID"]) == 12 and row["Size"].startswith("0B (virtual ")
    untrunc = both.dockyard("ps", "-l", "--no-trunc", "--format", "json").stdout
    assert len(json.loads(untrunc)["ID"]) == 64


def test_bad_filters_are_one_line_errors(both: Both) -> None:
    for args, message in (
        (["-f", "bogus=1"], "Error: invalid filter 'bogus'"),
        (["-f", "status=sleeping"], "Error: invalid filter 'status=sleeping'"),
        (["-f", "exited=zero"], "Error: invalid filter 'exited=zero'"),
        (["-f", "name"], "Error: bad format of filter (expected name=value)"),
        (["-f", "before=psx-nosuch"], "Error: No such container: psx-nosuch"),
        (["-n", "x"], "Invalid value for '-n' / '--last'"),
    ):
        done = both.dockyard("ps", *args, check=False)
        assert done.returncode in (1, 125), (args, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert done.stdout == "", args
        if done.returncode == 1:  # dockyard's own errors: one line (click's usage has more)
            assert len(done.stderr.splitlines()) == 1, done.stderr
