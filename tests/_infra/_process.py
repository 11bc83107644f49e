"""Running external commands with failures that show what the command printed."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


class CommandFailed(subprocess.CalledProcessError):
    """A command exited non-zero; ``str()`` includes its output so a test failure explains itself."""

    def __str__(self) -> str:
        lines = [f"command {_shown(self.cmd)} exited with status {self.returncode}"]
        for name, value in (("stdout", self.stdout), ("stderr", self.stderr)):
            text = _as_text(value).rstrip()
            if text:
                lines.append(f"--- {name} ---\n{_tail(text)}")
        return "\n".join(lines)


def run_command(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    input: str | bytes | None = None,
    text: bool = True,
    check: bool = True,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[Any]:
    """Run ``argv``, capturing stdout and stderr; raise CommandFailed on failure if ``check``."""
    if isinstance(input, str) and not text:
        input = input.encode()
    elif isinstance(input, bytes) and text:
        input = input.decode()
    result = subprocess.run(
        [os.fspath(a) for a in argv],
        env=dict(env) if env is not None else None,
        input=input,
        capture_output=True,
        text=text,
        check=False,
        cwd=cwd,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise CommandFailed(result.returncode, result.args, result.stdout, result.stderr)
    return result


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)


def _shown(cmd: object) -> str:
    if isinstance(cmd, list | tuple):
        return " ".join(str(c) for c in cmd)
    return str(cmd)


def _tail(text: str, lines: int = 60) -> str:
    parts = text.splitlines()
    if len(parts) <= lines:
        return text
    return "\n".join([f"[... {len(parts) - lines} earlier lines ...]", *parts[-lines:]])


def terminate(proc: subprocess.Popen[Any], grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if ``proc`` has not exited within ``grace`` seconds; reaped."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
