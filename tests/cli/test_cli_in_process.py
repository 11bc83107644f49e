"""``run_in_process`` (the contract tests' quick runner) gives what the console script gives:
the same exit status as a shell sees it, byte-for-byte the same stdout and stderr, for each
way the CLI ends (help, version, usage errors exit 125, failures exit 1, a command's own exit
status). This is what lets the other CLI tests check help and usage in process."""

from __future__ import annotations

from pathlib import Path

import bcrypt
import pytest

from _infra import run_dockyard
from _infra.cli_contract import USAGE_EXIT, rootfs_tar, run_in_process

#: (arguments, the exit status the console script ends with)
CASES: list[tuple[list[str], int]] = [
    (["--help"], 0),  # the lazily listed command table
    (["project", "member", "add", "--help"], 0),  # nested groups, wrapped option help
    (["--version"], 0),
    (["images", "--bogus"], USAGE_EXIT),  # click's own usage error
    (["diff", "only-one"], USAGE_EXIT),  # a missing argument
    (["system", "nosuch"], USAGE_EXIT),  # no such subcommand
    (["tag", "nosuch", "other"], 1),  # a DockyardError, reported by the CLI's one mapping
    (["inspect", "nosuch"], 1),  # a command's own ctx.exit(1), after its output
]


@pytest.mark.parametrize(("args", "status"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_same_as_the_console_script(dockyard_root: Path, args: list[str], status: int) -> None:
    process = run_dockyard(*args, root=dockyard_root, check=False)
    here = run_in_process(*args, root=dockyard_root, check=False)
    assert process.returncode == status, process.stderr
    assert (here.returncode, here.stdout, here.stderr) == (
        process.returncode,
        process.stdout,
        process.stderr,
    )


@pytest.mark.slow  # htpasswd's process imports the whole registry package (seconds)
def test_a_commands_own_status_stdin_and_cwd(dockyard_root: Path, tmp_path: Path) -> None:
    """A status a command picks itself (htpasswd -v's 3, Apache's), a password on stdin and a
    relative path resolved in ``cwd``: as the process."""
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode()
    (tmp_path / "htpasswd").write_text(f"alice:{hashed}\n")
    args = ("htpasswd", "-v", "-i", "htpasswd", "alice")
    process = run_dockyard(*args, root=dockyard_root, input="nope\n", cwd=tmp_path, check=False)
    here = run_in_process(*args, root=dockyard_root, input="nope\n", cwd=tmp_path, check=False)
    assert process.returncode == 3, process.stderr
    assert (here.returncode, here.stdout, here.stderr) == (3, process.stdout, process.stderr)


def test_commands_that_skip_teardown_return(dockyard_root: Path, tmp_path: Path) -> None:
    """copy, pull, push and build end their process with ``os._exit``: in process they return
    their status (and the test run goes on)."""
    run_in_process("import", rootfs_tar(tmp_path / "fs.tar"), "quick/app:1", root=dockyard_root)
    layout = tmp_path / "layout"
    done = run_in_process("copy", "-q", "quick/app:1", f"oci:{layout}:1", root=dockyard_root)
    assert done.returncode == 0 and (layout / "index.json").is_file(), done.stderr
    again = run_in_process("copy", "-q", "quick/app:1", f"oci:{layout}:1", root=dockyard_root)
    assert again.returncode == 0, again.stderr
