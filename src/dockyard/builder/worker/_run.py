"""RUN: one command in a writable snapshot, through an OCI runtime, leaving no trace but its own.

The container sees the snapshot as its root, Docker's /proc, /dev and /sys, and /etc/hosts and
/etc/resolv.conf bind-mounted read-only from files outside the snapshot. As in docker 20.10's
BuildKit, the UTS hostname is ``buildkitsandbox`` (also in /etc/hosts) and /etc/hostname is not
mounted: a RUN reads the image's own file (or none). Mount points are cleaned up as docker
20.10's BuildKit does (its executor's mount stub cleaner): a missing /etc/hosts, /etc/resolv.conf
or RUN --mount target that the runtime creates as an empty file is removed again afterwards (its
parent directory gets its mtime back); directories the runtime creates stay in the layer (a
missing /proc, /dev, /sys, or the parents of a file target such as /run/secrets), as in docker's.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import secrets as _secrets
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.builder.worker._runtime import OciRuntime, OutputCallback
from dockyard.builder.worker._scope import clean_path, make_dirs, resolve_in_root
from dockyard.builder.worker._spec import Mount, NetworkMode, ProcessSpec, runtime_spec
from dockyard.builder.worker._users import resolve_user
from dockyard.errors import RunFailed

if TYPE_CHECKING:  # RUN --mount's code loads only for a step with mounts
    from dockyard.builder.worker._mounts import RunMount

__all__ = ["RunRequest", "run_in_snapshot"]

_HOST_RESOLV = Path("/etc/resolv.conf")
#: Where the system mounts (Docker's /proc, /dev with its submounts, /sys) hang.
_SYSTEM_DIRS = ["/proc", "/dev", "/sys"]


@dataclass(frozen=True)
class RunRequest:
    """What a RUN step executes. ``args`` is the full argv (the shell already prepended)."""

    args: tuple[str, ...]
    env: tuple[str, ...] = ()
    cwd: str = "/"
    user: str = ""  #: USER spec: name, uid, name:group, uid:gid; empty is root
    network: NetworkMode = "host"
    mounts: tuple[RunMount, ...] = field(default=())
    hostname: str = "buildkitsandbox"
    timeout: float | None = None
    #: What to call the step in errors (e.g. "RUN make" at Dockerfile:12).
    description: str = ""


def _etc_files(directory: Path, hostname: str) -> list[Mount]:
    hosts = directory / "hosts"
    hosts.write_text(
        f"127.0.0.1\tlocalhost {hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    )
    resolv = directory / "resolv.conf"
    try:
        shutil.copyfile(_HOST_RESOLV, resolv)
    except OSError:
        resolv.write_text("nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
    for f in (hosts, resolv):
        f.chmod(0o644)
    return [
        Mount(f"/etc/{f.name}", "bind", str(f), ("rbind", "ro", "nosuid", "nodev", "noexec"))
        for f in (hosts, resolv)
    ]


class _Stubs:
    """File mount points missing from the root, to remove after the run (BuildKit's rule)."""

    def __init__(self, root: Path, destinations: list[str]) -> None:
        self._created: list[tuple[Path, int | None]] = []  # (path, parent mtime_ns)
        for dest in destinations:
            host = resolve_in_root(root, clean_path(dest))
            if os.path.lexists(host):
                continue
            try:
                parent_mtime: int | None = os.lstat(host.parent).st_mtime_ns
            except OSError:
                parent_mtime = None  # the runtime creates the parent too: it stays, as in docker
            self._created.append((host, parent_mtime))

    def remove(self) -> None:
        for host, mtime_ns in reversed(self._created):
            try:
                st = os.lstat(host)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode) or st.st_size != 0:
                continue  # a directory mount point, or the command wrote there: it stays
            with contextlib.suppress(OSError):
                os.unlink(host)
                if mtime_ns is not None:
                    os.utime(host.parent, ns=(mtime_ns, mtime_ns), follow_symlinks=False)


def _make_mount_dirs(root: Path, system: list[str], others: list[str]) -> None:
    """Missing mount-point directories as runc makes them (0755, root-owned): the system mounts'
    own directories and the parents of the other targets (crun would give /dev mode 01755)."""
    for dest in system:
        make_dirs(root, dest)
    for dest in others:
        make_dirs(root, posixpath.dirname(clean_path(dest)))


def _ensure_cwd(root: Path, cwd: str) -> None:
    host = resolve_in_root(root, cwd)
    if not host.is_dir():
        os.makedirs(host, mode=0o755, exist_ok=True)


def run_in_snapshot(
    rootfs: Path,
    request: RunRequest,
    *,
    runtime: OciRuntime,
    scratch_root: Path,
    cache_root: Path,
    secrets: Mapping[str, Path] | None = None,
    on_output: OutputCallback | None = None,
) -> tuple[str, ...]:
    """Run ``request`` with ``rootfs`` (a writable snapshot's root) as its root filesystem.

    Returns the last lines of output; raises :class:`~dockyard.errors.RunFailed` naming the exit
    code (and carrying those lines) when the command fails.
    """
    user = resolve_user(rootfs, request.user)
    cwd = clean_path(request.cwd)
    _ensure_cwd(rootfs, cwd)
    scratch_root.mkdir(parents=True, exist_ok=True)
    container_id = f"dockyard-{_secrets.token_hex(8)}"
    bundle = scratch_root / container_id
    bundle.mkdir(mode=0o700)
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, bundle, ignore_errors=True)
        etc = bundle / "etc"
        etc.mkdir()
        mounts = _etc_files(etc, request.hostname)
        if request.mounts:
            from dockyard.builder.worker._mounts import prepare_mounts

            mounts += prepare_mounts(
                request.mounts,
                cache_root=cache_root,
                secrets=secrets or {},
                scratch=bundle,
                stack=stack,
            )
        process = ProcessSpec(
            args=request.args,
            env=request.env,
            cwd=cwd,
            user=user,
            hostname=request.hostname,
            network=request.network,
            extra_mounts=tuple(mounts),
        )
        spec = runtime_spec(rootfs, process)
        stubs = _Stubs(rootfs, [m.destination for m in mounts])  # not /proc, /dev, /sys
        stack.callback(stubs.remove)
        _make_mount_dirs(rootfs, _SYSTEM_DIRS, [m.destination for m in mounts])
        (bundle / "config.json").write_text(json.dumps(spec, indent=1))
        status, tail = runtime.run(
            bundle, container_id, on_output=on_output, timeout=request.timeout
        )
    if status != 0:
        what = request.description or "RUN " + " ".join(request.args)
        shown = "\n".join(tail)
        raise RunFailed(
            f"{what} did not complete successfully: exit code: {status}"
            + (f"\n{shown}" if shown else ""),
            exit_status=status,
            output_tail=tail,
        )
    return tail
