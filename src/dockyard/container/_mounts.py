"""The container's mounts besides the runtime's system ones: /etc files, binds, tmpfs, the
image's volumes; and the "init" lower layer holding their mount points (docker's init layer),
so that they stay out of the container's changes."""

from __future__ import annotations

import os
import posixpath
import shutil
from collections.abc import Sequence
from pathlib import Path

from dockyard.builder.worker import make_dirs, resolve_in_root
from dockyard.builder.worker.runtime import Mount
from dockyard.container._options import BindVolume
from dockyard.errors import InvalidArgument

__all__ = ["etc_mounts", "fill_volumes", "init_layer", "volume_mounts"]

_HOST_HOSTS = Path("/etc/hosts")
_HOST_RESOLV = Path("/etc/resolv.conf")
_BIND_RO = ("rbind", "ro", "nosuid", "nodev", "noexec")


def _copy_or(source: Path, target: Path, fallback: str) -> None:
    try:
        shutil.copyfile(source, target)
    except OSError:
        target.write_text(fallback)
    target.chmod(0o644)


def etc_mounts(directory: Path, hostname: str, *, host_network: bool) -> list[Mount]:
    """/etc/hosts (the host's with ``--network host``, as docker does), /etc/resolv.conf and
    /etc/hostname, written into ``directory`` and bind-mounted."""
    directory.mkdir(exist_ok=True)
    default_hosts = (
        f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{hostname}\n"
    )
    if host_network:
        _copy_or(_HOST_HOSTS, directory / "hosts", default_hosts)
    else:
        (directory / "hosts").write_text(default_hosts)
        (directory / "hosts").chmod(0o644)
    _copy_or(_HOST_RESOLV, directory / "resolv.conf", "nameserver 8.8.8.8\n")
    (directory / "hostname").write_text(hostname + "\n")
    (directory / "hostname").chmod(0o644)
    return [
        Mount(f"/etc/{name}", "bind", str(directory / name), ("rbind", "rw", "nosuid", "nodev"))
        for name in ("hosts", "hostname", "resolv.conf")
    ]


def volume_mounts(
    volumes_dir: Path,
    binds: Sequence[BindVolume],
    tmpfs: Sequence[str],
    image_volumes: Sequence[str],
) -> list[Mount]:
    """``-v`` binds (a missing host directory is created, as docker does), ``--tmpfs`` mounts,
    and an empty anonymous volume for each image VOLUME no flag covers."""
    mounts: list[Mount] = []
    for bind in binds:
        if not bind.source.exists():
            bind.source.mkdir(parents=True)
        mode = "ro" if bind.read_only else "rw"
        mounts.append(Mount(bind.target, "bind", str(bind.source), ("rbind", mode)))
    for spec in tmpfs:
        target, _, extra = spec.partition(":")
        if not target.startswith("/"):
            raise InvalidArgument(f"invalid tmpfs mount '{spec}': the path must be absolute")
        flags = ["rw", "nosuid", "nodev", "noexec", "mode=1777"]
        flags += [o for o in extra.split(",") if o]
        mounts.append(Mount(posixpath.normpath(target), "tmpfs", "tmpfs", tuple(flags)))
    covered = {m.destination for m in mounts}
    for number, target in enumerate(sorted(set(image_volumes))):
        target = posixpath.normpath(target)
        if target in covered or not target.startswith("/"):
            continue
        volume = volumes_dir / str(number)
        volume.mkdir(parents=True)
        mounts.append(Mount(target, "bind", str(volume), ("rbind", "rw")))
    return mounts


def fill_volumes(rootfs: Path, volumes_dir: Path, mounts: Sequence[Mount]) -> None:
    """Copy what the image has at each anonymous volume's path into it (docker does)."""
    for mount in mounts:
        if Path(mount.source).parent != volumes_dir:
            continue
        source = resolve_in_root(rootfs, mount.destination)
        if source.is_dir():
            shutil.copytree(source, mount.source, symlinks=True, dirs_exist_ok=True)
            shutil.copystat(source, mount.source)


def init_layer(directory: Path, rootfs_lowers: Sequence[Path], targets: Sequence[Mount]) -> None:
    """Mount points (empty files for file sources, directories else) in ``directory``, a lower
    layer above the image's: /proc, /sys, /dev and the ``targets`` missing from the image."""
    directory.mkdir(mode=0o755)
    points = [(name, False) for name in ("/proc", "/sys", "/dev")]
    points += [(m.destination, m.type == "bind" and Path(m.source).is_file()) for m in targets]
    for destination, is_file in points:
        if any(os.path.lexists(resolve_in_root(low, destination)) for low in rootfs_lowers):
            continue
        if is_file:
            make_dirs(directory, posixpath.dirname(destination))
            resolve_in_root(directory, destination).touch(0o644)
        else:
            make_dirs(directory, destination)
