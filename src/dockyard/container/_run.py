"""``run``: a container from an image in the local store, in the foreground, on crun or runc.

The root filesystem is an overlay: the container's ``upper`` directory over an init layer (mount
points) over the image's cached snapshot (the builder's, shared). stdout and stderr are the
caller's; stdin too with ``-i``; ``-t`` gives the process a pty (the runtime's console).
SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are forwarded to the container's process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TextIO

from dockyard.builder.worker import BUILD_DIR, Snapshot, SnapshotManager, make_dirs
from dockyard.builder.worker.runtime import (
    OciRuntime,
    ProcessSpec,
    find_runtime,
    mount_overlay,
    runtime_spec,
    unmount,
)
from dockyard.container._mounts import etc_mounts, fill_volumes, init_layer, volume_mounts
from dockyard.container._options import RunOptions
from dockyard.container._platform import check_platform
from dockyard.container._process import check_executable, command_line, process_for
from dockyard.container._records import CONTAINERS_DIR, ContainerRecord, ContainerStore, now

if TYPE_CHECKING:
    from dockyard.local import LocalStore

__all__ = [
    "RUNTIME_DIR",
    "StoreRoot",
    "container_store",
    "kill_container",
    "remove_container",
    "run_container",
    "run_snapshot",
]

RUNTIME_DIR = ".runtime"
_FORWARDED = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)


class StoreRoot(Protocol):
    """Where a store is: what the container records and runtime state need of it (a
    :class:`~dockyard.local.LocalStore`, or just its root when the store is not opened)."""

    @property
    def root(self) -> Path: ...


class _Root(NamedTuple):
    root: Path


def container_store(store: StoreRoot) -> ContainerStore:
    return ContainerStore(store.root / CONTAINERS_DIR)


def _runtime(containers: ContainerStore) -> OciRuntime:
    return find_runtime(containers.root / RUNTIME_DIR, what="containers")


def _runtime_argv(runtime: OciRuntime, *args: str) -> list[str]:
    extra = ["--cgroup-manager=disabled"] if runtime.name == "crun" else []
    return [runtime.path, "--root", str(runtime.state_root), *extra, *args]


def _runtime_call(runtime: OciRuntime, *args: str) -> None:
    """``runtime ARGS`` (kill, delete) to its end, its output dropped."""
    import subprocess  # not for a run that ends normally: its foreground start is posix_spawn

    subprocess.run(
        _runtime_argv(runtime, *args),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )


def remove_container(store: StoreRoot, record: ContainerRecord) -> None:
    """Delete a stopped container: runtime state, mounts, upper directory, record."""
    containers = container_store(store)
    directory = containers.directory(record.id)
    with contextlib.suppress(OSError):
        unmount(directory / "merged")
    with contextlib.suppress(Exception):
        runtime = _runtime(containers)
        if (runtime.state_root / record.id).exists():
            _runtime_call(runtime, "delete", "--force", record.id)
    containers.remove(record)


def kill_container(store: StoreRoot, record: ContainerRecord, *, wait: float = 10.0) -> None:
    """SIGKILL a running container's process; its ``dockyard run`` then records the end."""
    import time

    runtime = _runtime(container_store(store))
    _runtime_call(runtime, "kill", record.id, "KILL")
    deadline = time.monotonic() + wait
    while record.is_running() and time.monotonic() < deadline:
        time.sleep(0.05)


def _hostname(options: RunOptions, container_id: str) -> str:
    if options.hostname:
        return options.hostname
    # the host's name with the host's network (gethostname(2) is uname(2)'s nodename on Linux)
    return os.uname().nodename if options.network == "host" else container_id[:12]


def run_container(
    store: LocalStore,
    options: RunOptions,
    *,
    platform: str | None = None,
    stderr: TextIO = sys.stderr,
) -> int:
    """Run the container to its end; returns its exit status (126/127 when its command cannot
    start, with docker's message on ``stderr``). Errors before the start raise and leave
    nothing behind."""
    from dockyard.container._image import open_image  # the store's image code: this path only

    image = open_image(store, options.image, check_platform(platform))
    config_data = image.config().data
    # no command or no runtime fails before the image's layers are extracted
    command_line(dict(config_data.get("config") or {}), options.entrypoint, options.command)
    _runtime(container_store(store))
    snapshots = SnapshotManager(store.root / BUILD_DIR)
    base = snapshots.from_layers(image.layers())
    return _run(
        store,
        options,
        manifest=str(image.descriptor().digest),
        image_id=str(image.config().digest),
        config_data=config_data,
        base=base,
        snapshots=snapshots,
        stderr=stderr,
    )


def run_snapshot(root: Path, options: RunOptions, *, stderr: TextIO = sys.stderr) -> int | None:
    """:func:`run_container` for an image whose root filesystem is already a snapshot, without
    opening the store (see :mod:`dockyard.container._quick`); None, with nothing done, when the
    image is not such a plain case (then :func:`run_container` runs it, or says what is wrong).
    For the image of this machine's platform only (no ``--platform``)."""
    from dockyard.container._quick import snapshot_image

    found = snapshot_image(root, options.image)
    if found is None:
        return None
    return _run(
        _Root(root),
        options,
        manifest=found.manifest_digest,
        image_id=found.config_digest,
        config_data=found.config,
        base=found.base,
        snapshots=found.snapshots,
        stderr=stderr,
    )


def _run(
    store: StoreRoot,
    options: RunOptions,
    *,
    manifest: str,
    image_id: str,
    config_data: dict[str, Any],
    base: Snapshot,
    snapshots: SnapshotManager,
    stderr: TextIO,
) -> int:
    config = dict(config_data.get("config") or {})
    entrypoint, cmd = command_line(config, options.entrypoint, options.command)
    runtime = _runtime(container_store(store))
    containers = container_store(store)
    from dockyard.container._process import merge_env

    record = containers.create(
        ContainerRecord(
            id="",
            name=options.name or "",
            image=options.image,
            image_id=image_id,
            manifest=manifest,
            entrypoint=entrypoint,
            cmd=cmd,
            env=tuple(merge_env(list(config.get("Env") or ()), options.env)),
            workdir=options.workdir or str(config.get("WorkingDir") or ""),
            user=options.user if options.user is not None else str(config.get("User") or ""),
            created=now(),
            volumes=tuple(f"{v.source}:{v.target}" for v in options.volumes),
        )
    )
    directory = containers.directory(record.id)
    merged = directory / "merged"
    mounted = False
    started = False
    try:
        hostname = _hostname(options, record.id)
        mounts = etc_mounts(directory / "etc", hostname, host_network=options.network == "host")
        mounts += volume_mounts(
            directory / "volumes",
            options.volumes,
            options.tmpfs,
            list(config.get("Volumes") or {}),
        )
        init_layer(directory / "init", base.lowers, mounts)
        for name in ("upper", "work", "merged"):
            (directory / name).mkdir()
        os.chmod(directory / "upper", os.lstat(base.lowers[0]).st_mode & 0o7777)
        mount_overlay(
            merged,
            [directory / "init", *base.lowers],
            directory / "upper",
            directory / "work",
            base=snapshots.root,
            volatile=snapshots.volatile,  # no sync of the whole file system at unmount
        )
        mounted = True
        fill_volumes(merged, directory / "volumes", mounts)
        process = process_for(
            merged,
            config,
            args=(*entrypoint, *cmd),
            env=options.env,
            hostname=hostname,
            workdir=options.workdir,
            user=options.user,
            tty=options.tty,
        )
        make_dirs(merged, process.cwd)
        problem = check_executable(merged, process)
        if problem is not None:
            stderr.write(f"dockyard: {problem.message}\n")
            stderr.flush()
            status = problem.status
        else:
            spec = runtime_spec(
                merged,
                ProcessSpec(
                    args=process.args,
                    env=process.env,
                    cwd=process.cwd,
                    user=process.user,
                    hostname=hostname,
                    network=options.network,
                    extra_mounts=tuple(mounts),
                ),
            )
            spec["process"]["terminal"] = options.tty
            spec["root"]["readonly"] = options.read_only
            bundle = directory / "bundle"
            bundle.mkdir()
            (bundle / "config.json").write_text(json.dumps(spec))
            record = record._replace(status="running", pid=os.getpid(), started=now())
            containers.save(record)
            started = True
            status = _foreground(runtime, bundle, record.id, options)
        record = record._replace(status="exited", exit_code=status, finished=now())
    finally:
        if mounted:
            with contextlib.suppress(OSError):
                unmount(merged)
        if options.remove or (not started and record.status != "exited"):
            remove_container(store, record)
        else:
            containers.save(record._replace(status="exited", finished=record.finished or now()))
    return status


def _foreground(runtime: OciRuntime, bundle: Path, container_id: str, options: RunOptions) -> int:
    runtime.state_root.mkdir(parents=True, exist_ok=True)
    attached = options.tty or options.interactive
    # Started as subprocess.Popen starts a process, without loading subprocess (and selectors,
    # locale): SIGPIPE and SIGXFSZ, which Python ignores, back to their defaults, and no
    # inherited descriptor but 0-2 (Popen's close_fds). Without a terminal the runtime gets its
    # own process group, so that a Ctrl-C reaches the container once (through us); with one it
    # must stay in the terminal's foreground group.
    actions: list[tuple[Any, ...]] = [
        (os.POSIX_SPAWN_CLOSE, fd) for fd in _inherited_fds() if fd > 2
    ]
    if not attached:
        actions.append((os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0))
    argv = _runtime_argv(runtime, "run", "--bundle", str(bundle), container_id)
    defaults = (signal.SIGPIPE, signal.SIGXFSZ)
    if options.tty:
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions, setsigdef=defaults)
    else:
        pid = os.posix_spawn(
            argv[0], argv, os.environ, file_actions=actions, setsigdef=defaults, setpgroup=0
        )
    ended = False

    def forward(signum: int, _frame: FrameType | None) -> None:
        if not ended:  # never a reaped (perhaps reused) process id
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}
    for signum in _FORWARDED:
        previous[signum] = signal.signal(signum, forward)
    try:
        _, wait_status = os.waitpid(pid, 0)  # retried after each forwarded signal (PEP 475)
        ended = True
    except BaseException:
        _runtime_call(runtime, "kill", container_id, "KILL")
        os.waitpid(pid, 0)
        ended = True
        raise
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if (runtime.state_root / container_id).exists():
            _runtime_call(runtime, "delete", "--force", container_id)
    status = os.waitstatus_to_exitcode(wait_status)
    return 128 - status if status < 0 else status


def _inherited_fds() -> list[int]:
    """This process's descriptors a new program would inherit."""
    fds = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        with contextlib.suppress(OSError):  # the listing's own descriptor, closed by now
            if os.get_inheritable(fd):
                fds.append(fd)
    return fds
