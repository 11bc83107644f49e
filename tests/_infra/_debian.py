"""A Debian bookworm minbase root filesystem made by debootstrap, cached per machine.

One tarball serves every test that needs a real Debian image (builder corpus, SBOM accuracy,
image analysis). It lives outside the repository under ``~/.cache/dockyard-tests/`` (or
``$DOCKYARD_TEST_CACHE``), so it is built once per machine (~30-60 s). debootstrap uses the
mirror this machine's own apt uses (or ``$DOCKYARD_TEST_DEBIAN_MIRROR``), and the image gets the
host's apt sources, so ``apt-get`` in RUN steps works as on the host.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

SUITE = "bookworm"
TARBALL_NAME = f"debian-{SUITE}-minbase-apt-rootfs.tar"
_HOST_SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))


def cache_dir() -> Path:
    base = os.environ.get("DOCKYARD_TEST_CACHE")
    path = Path(base) if base else Path.home() / ".cache" / "dockyard-tests"
    path.mkdir(parents=True, exist_ok=True)
    return path


def host_mirror() -> str | None:
    """The Debian mirror the host's apt uses for the main suite, if it says."""
    if mirror := os.environ.get("DOCKYARD_TEST_DEBIAN_MIRROR"):
        return mirror
    for path in _HOST_SOURCES:
        try:
            text = path.read_text()
        except OSError:
            continue
        if path.suffix == ".sources":  # deb822 stanzas
            for stanza in text.split("\n\n"):
                uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
                suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
                if uris and suites and SUITE in suites.group(1).split():
                    return uris.group(1)
        else:
            for line in text.splitlines():
                words = line.split()
                if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
                    return words[1] if not words[1].startswith("[") else words[2]
    return None


def _debootstrap() -> str:
    for candidate in ("/usr/sbin/debootstrap", shutil.which("debootstrap") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError(
        "debootstrap is not installed: `apt-get install debootstrap` (it is in the Makefile's "
        "APT_PACKAGES; `make system-deps` installs it)"
    )


def _make(rootfs: Path) -> None:
    mirror = host_mirror()
    argv = [_debootstrap(), "--variant=minbase", SUITE, str(rootfs), *([mirror] if mirror else [])]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=1200)
    if proc.returncode != 0:
        raise RuntimeError(
            f"debootstrap failed ({proc.returncode}); is the Debian mirror reachable?\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    apt = rootfs / "etc" / "apt"
    for source in _HOST_SOURCES:
        if source.is_file():
            target = apt / source.relative_to("/etc/apt")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for path in (rootfs / leftover).glob("*"):
            if path.is_file():
                path.unlink()


def debian_rootfs_tarball() -> Path:
    """The cached tarball of a ``debootstrap --variant=minbase bookworm`` root filesystem."""
    target = cache_dir() / TARBALL_NAME
    if target.exists():
        return target
    with open(target.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel sessions build it once
        if target.exists():
            return target
        work = Path(tempfile.mkdtemp(prefix="debootstrap-", dir=cache_dir()))
        try:
            rootfs = work / "rootfs"
            _make(rootfs)
            partial = work / "rootfs.tar"
            subprocess.run(
                ["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf", str(partial), "."],
                check=True,
                capture_output=True,
                timeout=600,
            )
            partial.replace(target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target
