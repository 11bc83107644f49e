"""``dockyard run`` read from the raw command line, before click loads.

The common ``run`` command lines (``[--root R] run [FLAGS] IMAGE [CMD…]`` with the flags of
:data:`OPTIONS`) are parsed here without click and, when the image's root filesystem is already
a snapshot, the container runs at once (:func:`dockyard.container.run_snapshot`). Anything else
returns None, with nothing done, and click runs the command as usual: another flag (``-t``,
``--platform``, ``--env-file``, ``--debug``, ``--help``), combined short flags (``-it``), a value attached
to a short flag (``-eK=V``), ``--``, a value that starts with ``-``, a missing value or image,
a ``--network`` click would refuse, an image that is not a snapshot yet.

Both paths turn the flags into :class:`~dockyard.container.RunOptions` with :func:`options`
and end a run with :func:`start`, so they behave the same: exit status, messages, signal
forwarding, what ``--rm`` removes. tests/cli/test_cli_run_argv.py checks :data:`OPTIONS`
against the click command's own parameters and runs the same command lines both ways.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from dockyard.container import RunOptions

__all__ = ["DEFAULTS", "NETWORKS", "OPTIONS", "RUN_FAILED", "options", "parse", "serve", "start"]

#: docker run's status for its own failures (the container's statuses are its own)
RUN_FAILED = 125

#: the flags read without click: option string → (the click parameter's name, whether it
#: takes a value, whether it may repeat); every other flag goes to click
OPTIONS: dict[str, tuple[str, bool, bool]] = {
    "--rm": ("remove", False, False),
    "-i": ("interactive", False, False),
    "--interactive": ("interactive", False, False),
    "-e": ("env", True, True),
    "--env": ("env", True, True),
    "-v": ("volumes", True, True),
    "--volume": ("volumes", True, True),
    "-w": ("workdir", True, False),
    "--workdir": ("workdir", True, False),
    "-u": ("user", True, False),
    "--user": ("user", True, False),
    "--entrypoint": ("entrypoint", True, False),
    "--network": ("network", True, False),
    "--name": ("name", True, False),
    "--read-only": ("read_only", False, False),
    "--tmpfs": ("tmpfs", True, True),
    "-h": ("hostname", True, False),
    "--hostname": ("hostname", True, False),
}

#: ``--network``'s choices
NETWORKS = ("host", "none")

#: every parameter of the click command with its default (what an absent flag means)
DEFAULTS: dict[str, Any] = {
    "remove": False,
    "interactive": False,
    "tty": False,
    "env": (),
    "env_files": (),
    "volumes": (),
    "workdir": None,
    "user": None,
    "entrypoint": None,
    "network": "host",
    "platform": None,
    "name": None,
    "read_only": False,
    "tmpfs": (),
    "hostname": None,
    "debug": False,
}

#: the global option read before ``run`` (``dockyard --root R run …``)
_ROOT = "--root"


def parse(argv: Sequence[str]) -> tuple[str | None, dict[str, Any]] | None:
    """``([--root] value or None, the click command's parameters)`` of ``dockyard`` + ``argv``
    when it is a ``run`` this module reads (see the module's documentation), else None."""
    root: str | None = None
    i = 0
    while i < len(argv) and argv[i] != "run":
        arg = argv[i]
        if arg == _ROOT and i + 1 < len(argv):
            root = argv[i + 1]
            i += 2
        elif arg.startswith(_ROOT + "="):
            root = arg[len(_ROOT) + 1 :]
            i += 1
        else:
            return None
    if i == len(argv) or root == "":
        return None
    i += 1
    params: dict[str, Any] = dict(DEFAULTS)
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg == "-":
            break
        name, eq, attached = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        spec = OPTIONS.get(name)
        if spec is None:
            return None
        dest, takes_value, multiple = spec
        i += 1
        if not takes_value:
            if eq:
                return None
            params[dest] = True
            continue
        if eq:
            value = attached
        elif i < len(argv) and not argv[i].startswith("-"):
            value = argv[i]
            i += 1
        else:
            return None
        if dest == "network" and value not in NETWORKS:
            return None
        params[dest] = (*params[dest], value) if multiple else value
    if i == len(argv):
        return None
    params["image"] = argv[i]
    params["command"] = tuple(argv[i + 1 :])
    return root, params


def serve(argv: Sequence[str]) -> int | None:
    """Run ``dockyard`` + ``argv`` when :func:`parse` reads it and the image is a snapshot
    (returns the container's status; failures end the process as the click command ends it),
    else None."""
    parsed = parse(argv)
    if parsed is None:
        return None
    root, params = parsed
    if root is None:
        from dockyard.storefiles import root_dir

        root = root_dir()  # --root's default, $DOCKYARD_ROOT included
    if not _directory_or_missing(root):
        return None  # click says what is wrong with the store's path
    try:
        return start(Path(root), params, full=None)
    except (KeyboardInterrupt, EOFError):  # click's way: a new line, "Aborted.", status 1
        sys.stderr.write("\nAborted.\n")
        sys.exit(1)


def _directory_or_missing(path: str) -> bool:
    """Whether click's ``--root`` (a directory path) takes ``path``."""
    import os

    return os.path.isdir(path) or not os.path.lexists(path)


def options(
    *,
    image: str,
    command: tuple[str, ...],
    remove: bool,
    interactive: bool,
    tty: bool,
    env: tuple[str, ...],
    env_files: tuple[Path, ...],
    volumes: tuple[str, ...],
    workdir: str | None,
    user: str | None,
    entrypoint: str | None,
    network: str,
    name: str | None,
    read_only: bool,
    tmpfs: tuple[str, ...],
    hostname: str | None,
) -> RunOptions:
    """The run's options from the command's parameters (``--env-file`` entries, then ``-e``)."""
    from dockyard.container import RunOptions, parse_env, parse_volume, read_env_file

    entries: list[str] = []
    for env_file in env_files:
        entries += read_env_file(env_file)
    entries += parse_env(env)
    return RunOptions(
        image=image,
        command=command,
        entrypoint=entrypoint,
        env=tuple(entries),
        volumes=tuple(parse_volume(v) for v in volumes),
        workdir=workdir,
        user=user,
        network="none" if network == "none" else "host",
        name=name,
        hostname=hostname,
        read_only=read_only,
        tmpfs=tmpfs,
        tty=tty,
        interactive=interactive,
        remove=remove,
    )


def start(
    root: Path, params: dict[str, Any], *, full: Callable[[RunOptions, str | None], int] | None
) -> int | None:
    """Run the container ``params`` (the click command's parameters) describe and return its
    status: from its snapshot when the image has one and no ``--platform`` is given, else by
    ``full(options, platform)``; None when that is needed and ``full`` is None (nothing done).
    dockyard's own failures print ``dockyard: …`` and exit 125."""
    from dockyard.container import run_snapshot
    from dockyard.errors import DockyardError

    params = dict(params)
    platform: str | None = params.pop("platform")
    params.pop("debug", None)  # the click command has set up its logging
    try:
        run = options(**params)
        status = None
        if platform is None:  # an image whose snapshot exists runs without opening the store
            status = run_snapshot(root, run)
        if status is None and full is not None:
            status = full(run, platform)
    except (DockyardError, OSError) as exc:
        _fail(exc)
    return status


def _fail(exc: BaseException) -> NoReturn:
    message = " ".join(str(exc).split())
    sys.stderr.write(f"dockyard: {message}\n")
    sys.exit(RUN_FAILED)
