"""Where a key's password comes from: $COSIGN_PASSWORD, else a prompt on the terminal, else a
one-line error that says to set COSIGN_PASSWORD (never getpass's warning and a traceback line)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from _infra import ROOT_ENV, dockyard_executable, run_dockyard
from dockyard.sign import load_private_key

NO_TERMINAL = (
    "Error: no terminal to read a password from: set COSIGN_PASSWORD (empty for no password)\n"
)


def _without_terminal(
    root: Path, *args: str | os.PathLike[str]
) -> subprocess.CompletedProcess[str]:
    """Run dockyard in a new session (no controlling terminal), stdin empty, no COSIGN_PASSWORD."""
    env = {k: v for k, v in os.environ.items() if k != "COSIGN_PASSWORD"}
    env[ROOT_ENV] = str(root)
    return subprocess.run(
        [dockyard_executable(), *[os.fspath(a) for a in args]],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        start_new_session=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_generate_key_pair_without_terminal_says_set_cosign_password(tmp_path: Path) -> None:
    done = _without_terminal(
        tmp_path / "root", "generate-key-pair", "--output-key-prefix", tmp_path / "k"
    )
    assert (done.returncode, done.stderr) == (1, NO_TERMINAL)
    assert not (tmp_path / "k.key").exists() and not (tmp_path / "k.pub").exists()


@pytest.mark.slow
def test_sign_with_encrypted_key_without_terminal_says_set_cosign_password(
    tmp_path: Path, layout_image: Any
) -> None:
    run_dockyard(
        "generate-key-pair",
        "--output-key-prefix",
        tmp_path / "k",
        root=tmp_path / "root",
        env={"COSIGN_PASSWORD": "pw"},
    )
    done = _without_terminal(
        tmp_path / "root", "sign", "--key", tmp_path / "k.key", layout_image.ref
    )
    assert (done.returncode, done.stderr) == (1, NO_TERMINAL)
    # an empty COSIGN_PASSWORD is a password (the empty one), not "ask me"
    empty = run_dockyard(
        "sign",
        "--key",
        tmp_path / "k.key",
        layout_image.ref,
        root=tmp_path / "root",
        env={"COSIGN_PASSWORD": ""},
        check=False,
    )
    assert empty.returncode == 1
    assert "wrong password" in empty.stderr


def _in_terminal(root: Path, answers: list[str], *args: str | os.PathLike[str]) -> tuple[int, str]:
    """Run dockyard with a pseudo-terminal as its controlling terminal; answer each password
    prompt with the next of ``answers`` (end-of-file when none is left). Returns (exit status, everything it wrote)."""
    env = {k: v for k, v in os.environ.items() if k != "COSIGN_PASSWORD"}
    env[ROOT_ENV] = str(root)
    argv = [os.fspath(dockyard_executable()), *[os.fspath(a) for a in args]]
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its terminal
        try:
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    output = b""
    pending = list(answers)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            # getpass writes the prompt's last space after it turned echo off (and flushed
            # the terminal's input): answer only then
            if output.endswith(b": "):
                os.write(fd, pending.pop(0).encode() + b"\n" if pending else b"\x04")
        else:
            os.kill(pid, 9)
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


@pytest.mark.slow
def test_prompts_on_the_terminal_with_confirmation(tmp_path: Path) -> None:
    code, text = _in_terminal(
        tmp_path / "root",
        ["abc", "abc"],
        "generate-key-pair",
        "--output-key-prefix",
        tmp_path / "p",
    )
    assert code == 0, text
    assert "Enter password for private key again" in text
    assert "abc" not in text  # not echoed
    assert "Warning" not in text
    assert load_private_key((tmp_path / "p.key").read_bytes(), b"abc")
    code, text = _in_terminal(
        tmp_path / "root",
        ["abc", "abd"],
        "generate-key-pair",
        "--output-key-prefix",
        tmp_path / "q",
    )
    assert code != 0, text
    assert not (tmp_path / "q.key").exists()


@pytest.mark.slow
def test_a_password_piped_on_stdin_is_used_as_cosign_does(tmp_path: Path) -> None:
    """cosign reads a piped password whole, as is (no newline stripped), when there is no
    COSIGN_PASSWORD; the key it protects opens with exactly those bytes."""
    env = {k: v for k, v in os.environ.items() if k != "COSIGN_PASSWORD"}
    env[ROOT_ENV] = str(tmp_path / "root")
    done = subprocess.run(
        [dockyard_executable(), "generate-key-pair", "--output-key-prefix", str(tmp_path / "k")],
        input=b"piped-pw\n",
        capture_output=True,
        env=env,
        start_new_session=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    load_private_key((tmp_path / "k.key").read_bytes(), b"piped-pw\n")
