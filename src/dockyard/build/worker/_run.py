"""RUN: one command in a writable snapshot, through an OCI runtime, leaving no trace but its own.

The container sees the snapshot as its root, Docker's /proc, /dev and /sys, and /etc/hosts and
/etc/resolv.conf bind-mounted read-only from files outside the snapshot. As in docker 20.10's
BuildKit, the UTS hostname is ``buildkitsandbox`` (also in /etc/hosts) and /etc/hostname is not
mounted: a RUN reads the image's own file (or none). Mount points the
runtime has to create in the root (a missing /proc, /etc/hosts …) are removed again afterwards
and their parent directories get their mtimes back, so the step's layer holds only what the
command itself changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets as _secrets
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.build.worker._mounts import RunMount, prepare_mounts
from dockyard.build.worker._runtime import OciRuntime, OutputCallback
from dockyard.build.worker._scope import clean_path, resolve_in_root
from dockyard.build.worker._spec import Mount, NetworkMode, ProcessSpec, runtime_spec
from dockyard.build.worker._users import resolve_user
from dockyard.errors import RunFailed

__all__ = ["RunRequest", "run_in_snapshot"]

_HOST_RESOLV = Path("/etc/resolv.conf")


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
    """Mount points missing from the root, to remove after the run (deepest first)."""

    def __init__(self, root: Path, destinations: list[str]) -> None:
        self._root = root
        self._created: list[tuple[Path, Path, int]] = []  # (path, parent, parent mtime_ns)
        seen: set[Path] = set()
        for dest in destinations:
            path = Path("/")
            for part in clean_path(dest).strip("/").split("/"):
                path = path / part
                host = resolve_in_root(root, str(path))
                if host in seen:
                    break
                if not os.path.lexists(host):
                    parent = host.parent
                    with contextlib.suppress(OSError):
                        self._created.append((host, parent, os.lstat(parent).st_mtime_ns))
                        seen.add(host)
                    break

    def remove(self) -> None:
        for host, parent, mtime_ns in reversed(self._created):
            try:
                st = os.lstat(host)
            except FileNotFoundError:
                continue
            with contextlib.suppress(OSError):
                if stat.S_ISDIR(st.st_mode):
                    _remove_empty_tree(host)
                elif st.st_size == 0:
                    os.unlink(host)
                os.utime(parent, ns=(mtime_ns, mtime_ns), follow_symlinks=False)


def _remove_empty_tree(path: Path) -> None:
    """Remove a stub directory made for mount points: empty files and directories only."""
    for dirpath, _dirs, files in os.walk(path, topdown=False):
        for name in files:
            file = Path(dirpath) / name
            if os.lstat(file).st_size == 0:
                os.unlink(file)
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)


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
        stubs = _Stubs(rootfs, [m["destination"] for m in spec["mounts"]])
        stack.callback(stubs.remove)
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
