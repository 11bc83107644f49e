"""The CLI contract tests' helpers: small images without a daemon, exit codes, JSON output.

Most contract checks (help text, usage errors, what a command prints) run the CLI in this
process with :func:`run_in_process`, which is what the console script runs minus starting a
Python (~0.5 s a command); what only a real process shows (the console script, the exit status a shell sees, the
build no-op path keyed on raw argv, prompts) runs it with ``_infra.run_dockyard``.
tests/cli/test_cli_in_process.py holds the two to the same results.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

import click
from click.testing import CliRunner

from _infra._cli import ROOT_ENV
from _infra._process import CommandFailed
from dockyard.cli import _main

__all__ = [
    "USAGE_EXIT",
    "assert_help",
    "assert_usage_error",
    "import_image",
    "json_lines",
    "rootfs_tar",
    "run_in_process",
]

#: what a usage error exits with, as docker's CLI (README: "usage errors exit 125")
USAGE_EXIT = 125


def rootfs_tar(path: Path, files: dict[str, bytes] | None = None) -> Path:
    """A small root filesystem tarball (default: ``/bin/hello`` and ``/etc/motd``)."""
    files = files or {"bin/hello": b"#!/bin/sh\necho hello\n", "etc/motd": b"hello\n"}
    with tarfile.open(path, "w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.startswith("bin/") else 0o644
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return path


def import_image(root: Path, tmp: Path, ref: str, files: dict[str, bytes] | None = None) -> str:
    """``dockyard import`` (in process) of a small tarball as ``ref``; the image ID it prints."""
    tar = rootfs_tar(tmp / f"{ref.replace('/', '_').replace(':', '_')}.tar", files)
    out = run_in_process("import", tar, ref, root=root)
    image_id: str = str(out.stdout).strip().splitlines()[-1]
    assert image_id.startswith("sha256:"), out.stdout
    return image_id


def json_lines(text: str) -> list[dict[str, Any]]:
    """``--format json`` listings: one JSON object a line."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run_in_process(
    *args: str | os.PathLike[str],
    root: Path,
    input: str | bytes | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """``dockyard ARGS`` as :func:`~_infra.run_dockyard` runs it, in this process: the function
    the console script ends in (``dockyard.cli._main.main``: click parses, usage errors exit 125,
    failures 1), with ``DOCKYARD_ROOT=root`` and ``env`` set, ``input`` on stdin, stdout and
    stderr captured (as text) by click's ``CliRunner`` isolation, help as wide as at a pipe.

    For help, usage errors and what commands print (text, ``--format json``, their exit
    status): tests/cli/test_cli_in_process.py holds it to the console script's results. Not for
    prompts (``CliRunner`` echoes them to stdout), nor what only a process shows: the console
    script itself, the status a shell sees, the build no-op path ``dockyard.cli.main`` takes on
    raw argv (``build`` here always builds). Commands that end with ``os._exit`` (copy, pull,
    push, build, run) return here. With ``check`` a non-zero exit raises CommandFailed, whose
    message shows the output.
    """
    argv = ["dockyard", *(os.fspath(a) for a in args)]
    # a process writing to a pipe wraps help at $COLUMNS, else at shutil's fallback of 80
    columns = (env or {}).get("COLUMNS") or os.environ.get("COLUMNS") or "80"
    full_env = {**(env or {}), ROOT_ENV: os.fspath(root), "COLUMNS": columns}
    with (
        CliRunner().isolation(input=input, env=full_env) as (out, err, _),
        _terminal_width_from_environment(),
        _arguments(argv),
        _working_directory(cwd),
        _exit_without_teardown_returns(),
    ):
        try:
            _main.main()
        except SystemExit as exc:
            code = _exit_status(exc)
        else:  # main always exits
            raise AssertionError(f"{argv}: dockyard.cli._main.main() returned without exiting")
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
    result = subprocess.CompletedProcess(
        argv, code, out.getvalue().decode(), err.getvalue().decode(errors="replace")
    )
    if check and code != 0:
        raise CommandFailed(code, argv, result.stdout, result.stderr)
    return result


def _exit_status(exc: SystemExit) -> int:
    """The status a process ends with on ``exc``, as the interpreter sets it: ``None`` is 0, a
    message is printed to stderr and is 1."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


@contextlib.contextmanager
def _terminal_width_from_environment() -> Iterator[None]:
    """Undo ``CliRunner``'s fixed 80-column help: click then asks shutil (``$COLUMNS``) as it
    does in a process. (The isolation puts the old value back when it ends.)"""
    click.formatting.FORCED_WIDTH = None
    yield


@contextlib.contextmanager
def _arguments(argv: list[str]) -> Iterator[None]:
    saved = sys.argv
    sys.argv = argv
    try:
        yield
    finally:
        sys.argv = saved


@contextlib.contextmanager
def _working_directory(cwd: Path | None) -> Iterator[None]:
    if cwd is None:
        yield
        return
    saved = Path.cwd()
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved)


@contextlib.contextmanager
def _exit_without_teardown_returns() -> Iterator[None]:
    """copy, pull, push, build and run ask ``main`` to leave by ``os._exit`` (no interpreter
    teardown): in this process that would end the test run, so it raises SystemExit instead."""

    def leave(status: int) -> NoReturn:
        raise SystemExit(status)

    hard_exit = os._exit
    os._exit = leave
    try:
        yield
    finally:
        os._exit = hard_exit
        _main._fast_exit = False


def assert_usage_error(result: subprocess.CompletedProcess[Any], message: str) -> None:
    """Exit 125 with click's usage text and its message on stderr, nothing on stdout."""
    assert result.returncode == USAGE_EXIT, (result.returncode, result.stderr)
    assert "Usage: dockyard" in result.stderr, result.stderr
    assert message in result.stderr, result.stderr
    assert result.stdout == "", result.stdout


def assert_help(root: Path, *command: str) -> str:
    """``dockyard COMMAND --help`` exits 0 and shows the command's usage line (in process)."""
    out = run_in_process(*command, "--help", root=root)
    assert out.stdout.startswith(f"Usage: dockyard {' '.join(command)}"), out.stdout
    assert out.stderr == ""
    return str(out.stdout)
