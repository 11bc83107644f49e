"""Running the installed ``dockyard`` console script as a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from _infra._process import run_command

ROOT_ENV = "DOCKYARD_ROOT"


def dockyard_executable() -> Path:
    """The ``dockyard`` console script installed next to the running Python."""
    exe = Path(sys.executable).parent / "dockyard"
    if not exe.exists():
        raise FileNotFoundError(
            f"{exe} does not exist: install the project into this environment (`make install`)"
        )
    return exe


def run_dockyard(
    *args: str | os.PathLike[str],
    root: Path,
    input: str | bytes | None = None,
    check: bool = True,
    text: bool = True,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = 300.0,
) -> subprocess.CompletedProcess[Any]:
    """Run ``dockyard ARGS`` with ``DOCKYARD_ROOT=root``; stdout/stderr captured (str or bytes).

    ``env`` adds to (and overrides) the current environment. With ``check`` a non-zero exit
    raises CommandFailed, whose message shows the command's output.
    """
    full_env = dict(os.environ)
    if env is not None:
        full_env.update(env)
    full_env[ROOT_ENV] = os.fspath(root)
    return run_command(
        [dockyard_executable(), *args],
        env=full_env,
        input=input,
        text=text,
        check=check,
        cwd=cwd,
        timeout=timeout,
    )
