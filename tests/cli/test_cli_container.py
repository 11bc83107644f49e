"""``dockyard run``, ``ps``, ``rm``, ``commit``, ``container prune``: docker's exit codes (125
for ``run``'s own errors and every usage error, 1 for a container that does not exist, the
container's own status from ``run``), ``ps --format json`` keys, usage errors.

``run`` goes through the pre-dispatch on raw argv (tests/cli/test_cli_run_argv.py), so its
cases run as real processes; the others run in this process. The success path runs a real
busybox container (crun or runc, as ``dockyard run`` picks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from _infra import make_busybox_rootfs, run_dockyard, tar_rootfs
from _infra.cli_contract import (
    assert_help,
    assert_usage_error,
    json_lines,
    run_in_process,
)

#: keys every ``ps --format json`` line has (docker's, besides the container's exit status)
PS_KEYS = {"ID", "Image", "Command", "CreatedAt", "RunningFor", "Status", "State", "Names"}


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding ``cli/box:1`` (busybox), run once so that its snapshot exists."""
    work = tmp_path_factory.mktemp("cli-container")
    root = work / "store"
    base = tar_rootfs(make_busybox_rootfs(work / "rootfs"), work / "base.tar")
    run_dockyard("import", base, "cli/box:1", root=root)
    run_dockyard("run", "--rm", "cli/box:1", "true", root=root)
    return root


def test_help_of_each_command(dockyard_root: Path) -> None:
    for command in (["run"], ["ps"], ["rm"], ["commit"], ["container", "prune"]):
        assert_help(dockyard_root, *command)


@pytest.mark.slow
def test_run_usage_errors_exit_125(dockyard_root: Path) -> None:
    """As the console script runs them (``run`` is read from raw argv before click)."""
    bogus = run_dockyard("run", "--bogus", "cli/box:1", root=dockyard_root, check=False)
    assert_usage_error(bogus, "No such option '--bogus'")
    missing = run_dockyard("run", root=dockyard_root, check=False)
    assert_usage_error(missing, "Missing argument 'IMAGE'")
    network = run_dockyard("run", "--network", "bridge", "x", root=dockyard_root, check=False)
    assert_usage_error(network, "Invalid value for '--network'")


@pytest.mark.slow
def test_run_of_an_image_not_in_the_store_exits_125(dockyard_root: Path) -> None:
    """docker run's own failures (before the container's command runs) exit 125."""
    out = run_dockyard("run", "--rm", "cli/nosuch:1", "true", root=dockyard_root, check=False)
    assert out.returncode == 125, out.stderr
    assert "Unable to find image 'cli/nosuch:1' locally" in out.stderr, out.stderr
    assert out.stdout == ""


def test_usage_errors_exit_125(dockyard_root: Path) -> None:
    for args, message in (
        (["ps", "--bogus"], "No such option '--bogus'"),
        (["rm"], "Missing argument 'CONTAINERS...'"),
        (["rm", "--bogus", "c1"], "No such option '--bogus'"),
        (["commit"], "Missing argument 'CONTAINER'"),
        (["commit", "c1", "repo:1", "extra"], "Got unexpected extra argument (extra)"),
        (["container", "prune", "--bogus"], "No such option '--bogus'"),
        (["container", "bogus"], "No such command 'bogus'"),
    ):
        assert_usage_error(run_in_process(*args, root=dockyard_root, check=False), message)


def test_a_container_that_does_not_exist_exits_1(dockyard_root: Path) -> None:
    removed = run_in_process("rm", "nosuch", root=dockyard_root, check=False)
    assert removed.returncode == 1, removed.stderr
    assert removed.stderr == "Error response from daemon: No such container: nosuch\n"
    committed = run_in_process("commit", "nosuch", "x:1", root=dockyard_root, check=False)
    assert committed.returncode == 1, committed.stderr
    assert committed.stderr == "Error: No such container: nosuch\n"


def test_ps_json_and_prune_of_an_empty_store(dockyard_root: Path) -> None:
    for args in (["ps", "--format", "json"], ["ps", "-a", "--format", "json"], ["ps", "-q"]):
        out = run_in_process(*args, root=dockyard_root)
        assert (out.stdout, out.stderr) == ("", ""), args
    pruned = run_in_process("container", "prune", "-f", root=dockyard_root)
    assert pruned.stdout == "Total reclaimed space: 0B\n"


@pytest.mark.slow
def test_run_ps_commit_rm_prune(box: Path) -> None:
    """One container through its life: run (its own exit status), ps's JSON, commit (the
    image holds its change), rm, and prune of a stopped one."""
    script = "echo made > /made; echo out"
    made = run_dockyard("run", "--name", "cli-c1", "cli/box:1", "sh", "-c", script, root=box)
    assert made.stdout == "out\n"
    args = ["run", "--name", "cli-c2", "cli/box:1", "sh", "-c", "exit 3"]
    status = run_dockyard(*args, root=box, check=False)
    assert status.returncode == 3, status.stderr

    assert run_in_process("ps", "--format", "json", root=box).stdout == ""  # none running
    listed = run_in_process("ps", "-a", "--format", "json", root=box).stdout
    rows = {r["Names"]: r for r in json_lines(listed)}
    assert set(rows) == {"cli-c1", "cli-c2"}, rows
    for row in rows.values():
        assert set(row) >= PS_KEYS | {"ExitCode"}, row
        assert row["Image"] == "cli/box:1" and row["State"] == "exited"
    assert (rows["cli-c1"]["ExitCode"], rows["cli-c1"]["Status"]) == (0, "Exited (0)")
    assert (rows["cli-c2"]["ExitCode"], rows["cli-c2"]["Status"]) == (3, "Exited (3)")
    ids = run_in_process("ps", "-a", "-q", root=box).stdout.split()
    assert sorted(ids) == sorted(r["ID"] for r in rows.values())
    names = run_in_process("ps", "-a", "--format", "{{.Names}}", root=box).stdout.split()
    assert sorted(names) == ["cli-c1", "cli-c2"]

    image_id = run_in_process("commit", "cli-c1", "cli/box:2", root=box).stdout.strip()
    assert image_id.startswith("sha256:"), image_id
    shown = run_dockyard("run", "--rm", "cli/box:2", "cat", "/made", root=box)
    assert shown.stdout == "made\n"

    assert run_in_process("rm", "cli-c1", root=box).stdout == "cli-c1\n"
    pruned = run_in_process("container", "prune", "-f", root=box).stdout.splitlines()
    assert pruned[0] == "Deleted Containers:", pruned
    assert [p[:12] for p in pruned[1:-2]] == [rows["cli-c2"]["ID"]]
    assert pruned[-1].startswith("Total reclaimed space: "), pruned
    assert run_in_process("ps", "-a", "--format", "json", root=box).stdout == ""
