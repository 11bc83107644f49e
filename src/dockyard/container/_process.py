"""The container's process from the image config and the run's flags, by docker's rules.

* ``--entrypoint`` replaces the image's Entrypoint and clears its Cmd; command arguments
  replace Cmd. No entrypoint and no command is an error.
* Environment: ``PATH`` (docker's default), ``HOSTNAME`` and, with ``-t``, ``TERM=xterm``;
  each replaced in place or followed by the container's Env: the ``--env-file`` and ``-e``
  entries, then the image's Env entries they do not name; then ``HOME`` from the user's
  /etc/passwd entry unless set.
* The working directory is ``-w``, else the image's, else ``/``; the user is ``-u``, else the
  image's, else root, resolved in the root filesystem's /etc/passwd and /etc/group.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from dockyard.builder.worker import ResolvedUser, resolve_in_root, resolve_user
from dockyard.builder.worker.runtime import DEFAULT_PATH
from dockyard.errors import InvalidArgument

__all__ = ["ExecProblem", "Process", "check_executable", "command_line", "merge_env", "process_for"]


class Process(NamedTuple):
    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str
    user: ResolvedUser


class ExecProblem(NamedTuple):
    """Why the command cannot start: docker's message and exit status (126 or 127)."""

    message: str
    status: int


def command_line(
    config: Mapping[str, Any], entrypoint: str | None, command: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(entrypoint, cmd)`` of the container, docker's way."""
    if entrypoint is not None:
        ep: tuple[str, ...] = (entrypoint,) if entrypoint else ()
        cmd: tuple[str, ...] = tuple(command)
    else:
        ep = tuple(config.get("Entrypoint") or ())
        cmd = tuple(command) if command else tuple(config.get("Cmd") or ())
    if not ep and not cmd:
        raise InvalidArgument(
            "no command specified: the image has no CMD or ENTRYPOINT; give a command after "
            "the image name"
        )
    return ep, cmd


def merge_env(image_env: Sequence[str], overrides: Sequence[str]) -> list[str]:
    """The container's Env as docker merges it: ``overrides`` first, then the image's entries
    they do not name."""
    if not overrides:
        return list(image_env)
    named = {e.partition("=")[0] for e in overrides}
    return [*overrides, *(e for e in image_env if e.partition("=")[0] not in named)]


def _replace_or_append(base: Sequence[str], entries: Sequence[str]) -> list[str]:
    out = list(base)
    index = {e.partition("=")[0]: i for i, e in enumerate(out)}
    for entry in entries:
        key = entry.partition("=")[0]
        if key in index:
            out[index[key]] = entry
        else:
            index[key] = len(out)
            out.append(entry)
    return out


def process_for(
    rootfs: Path,
    config: Mapping[str, Any],
    *,
    args: Sequence[str],
    env: Sequence[str],
    hostname: str,
    workdir: str | None,
    user: str | None,
    tty: bool,
) -> Process:
    """The process to run in ``rootfs`` (the container's merged root)."""
    spec = user if user is not None else str(config.get("User") or "")
    resolved = resolve_user(rootfs, spec)
    # docker's process has its primary group among its supplementary groups too
    groups = (resolved.gid, *(g for g in resolved.additional_gids if g != resolved.gid))
    resolved = resolved._replace(additional_gids=groups)
    container_env = merge_env(list(config.get("Env") or ()), env)
    full = ["PATH=" + DEFAULT_PATH, f"HOSTNAME={hostname}", *(["TERM=xterm"] if tty else [])]
    full = _replace_or_append(full, container_env)
    if "HOME" not in {e.partition("=")[0] for e in full}:
        full.append("HOME=" + (resolved.home or "/"))
    cwd = workdir if workdir else str(config.get("WorkingDir") or "/")
    if not cwd.startswith("/"):
        raise InvalidArgument(f"the working directory '{cwd}' is invalid: it needs to be absolute")
    return Process(tuple(args), tuple(full), posixpath.normpath(cwd), resolved)


def _path_of(env: Sequence[str]) -> str:
    for entry in reversed(env):
        key, _, value = entry.partition("=")
        if key == "PATH":
            return value
    return DEFAULT_PATH


def check_executable(rootfs: Path, process: Process) -> ExecProblem | None:
    """Whether ``process.args[0]`` can be executed in ``rootfs``; docker's failure otherwise."""
    name = process.args[0]
    if "/" in name:
        candidates = [posixpath.join(process.cwd, name)]
    else:
        candidates = [posixpath.join(d or ".", name) for d in _path_of(process.env).split(":")]
    for path in candidates:
        host = resolve_in_root(rootfs, posixpath.normpath(path))
        if host.is_dir():
            if "/" in name:
                return ExecProblem(f'exec: "{name}": is a directory', 126)
            continue
        if host.exists():
            if host.stat().st_mode & 0o111:
                return None
            if "/" in name:
                return ExecProblem(f'exec: "{name}": permission denied', 126)
            continue
    if "/" in name:
        return ExecProblem(f'exec: "{name}": stat {name}: no such file or directory', 127)
    return ExecProblem(f'exec: "{name}": executable file not found in $PATH', 127)
