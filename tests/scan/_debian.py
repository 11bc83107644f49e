"""A Debian bookworm minbase root filesystem from debootstrap, cached per machine.

The tarball lives outside the repository under ``~/.cache/dockyard-tests/`` (or
``$DOCKYARD_TEST_CACHE``) so repeated runs reuse it; building it takes ~30-60 s and needs the
Debian mirror.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SUITE = "bookworm"
MIRROR = os.environ.get("DOCKYARD_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
TARBALL_NAME = f"debian-{SUITE}-minbase-rootfs.tar"


def cache_dir() -> Path:
    base = os.environ.get("DOCKYARD_TEST_CACHE")
    path = Path(base) if base else Path.home() / ".cache" / "dockyard-tests"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _debootstrap() -> str:
    for candidate in ("/usr/sbin/debootstrap", shutil.which("debootstrap") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError(
        "debootstrap is not installed: `apt-get install debootstrap` (it is in the Makefile's "
        "APT_PACKAGES; `make system-deps` installs it)"
    )


def debian_rootfs_tarball() -> Path:
    """The cached tarball of a ``debootstrap --variant=minbase bookworm`` root filesystem."""
    target = cache_dir() / TARBALL_NAME
    if target.exists():
        return target
    lock_path = target.with_suffix(".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            return target
        work = Path(tempfile.mkdtemp(prefix="debootstrap-", dir=cache_dir()))
        try:
            rootfs = work / "rootfs"
            proc = subprocess.run(
                [_debootstrap(), "--variant=minbase", SUITE, str(rootfs), MIRROR],
                capture_output=True,
                text=True,
                timeout=900,
            )
            if proc.returncode != 0:
                raise RuntimeError(
                    f"debootstrap failed ({proc.returncode}); is {MIRROR} reachable?\n"
                    f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
                )
            partial = work / "rootfs.tar"
            subprocess.run(
                ["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf", str(partial), "."],
                check=True,
                capture_output=True,
            )
            partial.replace(target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target
