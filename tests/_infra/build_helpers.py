"""Helpers for the build tests: images in both docker and dockyard, file trees, configs."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import stat
import tarfile
from pathlib import Path
from typing import Any

from _infra import DockerDaemon, run_dockyard, save_image
from dockyard.layers import apply_layer

#: Config fields docker build and dockyard build must agree on.
CONFIG_KEYS = (
    "Env",
    "Cmd",
    "Entrypoint",
    "WorkingDir",
    "User",
    "ExposedPorts",
    "Volumes",
    "Labels",
    "Healthcheck",
    "StopSignal",
    "Shell",
    "OnBuild",
)

#: Files whose *contents* differ between any two builds of the same Dockerfile, docker's or
#: dockyard's (checked by building each corpus entry with both). Only their contents are left out
#: of the comparison: that they exist, their type, mode and owner are still compared.
VARIES = (
    # dpkg, apt and update-alternatives logs: a timestamp on every line
    "var/log/dpkg.log",
    "var/log/alternatives.log",
    "var/log/apt/history.log",
    "var/log/apt/term.log",
    # apt's binary package caches record the mtimes of the package lists they were built from
    "var/cache/apt/pkgcache.bin",
    "var/cache/apt/srcpkgcache.bin",
    # ldconfig's auxiliary cache is keyed by the libraries' inode numbers and ctimes
    "var/cache/ldconfig/aux-cache",
    # fontconfig's caches record the font directories' mtimes
    "var/cache/fontconfig/*.cache-*",
    # slapd's postinst generates the config and the directory database with new entryUUIDs,
    # entryCSNs, create/modify timestamps and a randomly salted admin password hash (10-slapd)
    "etc/ldap/slapd.d/*.ldif",
    "var/lib/ldap/data.mdb",
    # useradd writes the day of the password change (days since 1970, UTC): equal unless the
    # two builds run on different days
    "etc/shadow",
    "etc/shadow-",
)

Entry = tuple[str, int, int, int, str]


def load_into_dockyard(dockerd: DockerDaemon, ref: str, root: Path, tmp: Path) -> None:
    """Copy a docker image into the dockyard store at ``root`` (docker save | dockyard load)."""
    tar = save_image(dockerd, ref, tmp / (hashlib.sha256(ref.encode()).hexdigest()[:12] + ".tar"))
    run_dockyard("load", "-i", tar, root=root)
    tar.unlink()


def docker_rootfs(dockerd: DockerDaemon, ref: str, dest: Path) -> Path:
    """The filesystem of docker image ``ref`` (its layers applied in order) in ``dest``."""
    archive = dest.with_suffix(".tar")
    save_image(dockerd, ref, archive)
    dest.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        for name in manifest[0]["Layers"]:
            member = tar.extractfile(name)
            assert member is not None
            apply_layer(member, dest)  # type: ignore[arg-type]
    archive.unlink()
    return dest


def _varies(rel: str) -> bool:
    return any(fnmatch.fnmatch(rel, pattern) for pattern in VARIES)


def tree(root: Path, *, noise: bool = True) -> dict[str, Entry]:
    """path → (type, mode, uid, gid, link target or content sha256) for everything below;
    with ``noise`` the contents of :data:`VARIES` files count as equal."""
    out: dict[str, Entry] = {}
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for name in [*dirs, *files]:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            st = os.lstat(path)
            kind = stat.S_IFMT(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                what = os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                varies = noise and _varies(rel)
                what = "varies" if varies else hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                what = f"dev:{st.st_rdev}"
            else:
                what = ""
            out[rel] = (rel, kind | stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, what)
    return out


def tree_diff(a: dict[str, Entry], b: dict[str, Entry]) -> dict[str, tuple[Any, Any]]:
    """Paths whose entries differ (None for a side that lacks the path)."""
    out: dict[str, tuple[Any, Any]] = {}
    for key in sorted(set(a) | set(b)):
        left, right = a.get(key), b.get(key)
        if left != right:
            out[key] = (
                None if left is None else (oct(left[1]), left[2], left[3], left[4][:16]),
                None if right is None else (oct(right[1]), right[2], right[3], right[4][:16]),
            )
    return out


def docker_config(dockerd: DockerDaemon, ref: str) -> dict[str, Any]:
    data = json.loads(dockerd.run("image", "inspect", ref).stdout)[0]
    config: dict[str, Any] = data["Config"]
    return config


def dockyard_config(root: Path, ref: str) -> dict[str, Any]:
    out = run_dockyard("inspect", ref, root=root).stdout
    data = json.loads(out)
    item = data[0] if isinstance(data, list) else data
    config: dict[str, Any] = item["Config"]
    return config


def config_diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {
        key: (a.get(key), b.get(key))
        for key in CONFIG_KEYS
        if (a.get(key) or None) != (b.get(key) or None)
    }


def docker_build(dockerd: DockerDaemon, context: Path, tag: str, *args: str) -> None:
    """``docker build`` with BuildKit (RUN on the host network: dockerd has no bridge here)."""
    dockerd.run(
        "build",
        "--network",
        "host",
        "-t",
        tag,
        *args,
        str(context),
        env={"DOCKER_BUILDKIT": "1"},
        timeout=900,
    )


def dockyard_build(
    root: Path, context: Path, tag: str, *args: str, out: Path | None = None, **kwargs: Any
) -> Any:
    """``dockyard build``; with ``out`` the final filesystem is also written there."""
    extra = ["--output", "type=store", "--output", f"type=local,dest={out}"] if out else []
    return run_dockyard(
        "build",
        "--progress",
        "plain",
        "-t",
        tag,
        *extra,
        *args,
        str(context),
        root=root,
        timeout=900,
        **kwargs,
    )


def debian_rootfs_tar() -> Path:
    """``debootstrap --variant=minbase bookworm`` once per machine (shared with other tests)."""
    from _infra._debian import debian_rootfs_tarball

    return debian_rootfs_tarball()
