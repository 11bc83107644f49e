"""linux/arm64 test images without the internet, and the qemu emulation that runs them.

The arm64 busybox comes from Debian's ``busybox-static:arm64`` package (``apt-get download``
after ``dpkg --add-architecture arm64``), cached outside the repository beside the Debian root
filesystem (``~/.cache/dockyard-tests/`` or ``$DOCKYARD_TEST_CACHE``). The root filesystem is
the amd64 busybox image's with the binary swapped, so the two platforms differ only in it.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import tempfile
from pathlib import Path

from _infra._debian import cache_dir
from _infra._images import make_busybox_rootfs, tar_rootfs

__all__ = ["BINFMT", "arm64_busybox_binary", "arm64_busybox_tar", "ensure_qemu_aarch64"]

BINFMT = Path("/proc/sys/fs/binfmt_misc")
_CACHED = "busybox-static-arm64"


def _run(*argv: str, cwd: Path | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-1500:]}")
    return done.stdout


def arm64_busybox_binary() -> Path:
    """The aarch64 ``/bin/busybox`` of Debian's busybox-static:arm64 (downloaded once)."""
    target = cache_dir() / _CACHED / "busybox"
    if target.exists():
        return target
    with open(cache_dir() / f"{_CACHED}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            return target
        if "arm64" not in _run("dpkg", "--print-foreign-architectures").split():
            _run("dpkg", "--add-architecture", "arm64")
            _run("apt-get", "update", "-qq")
        work = Path(tempfile.mkdtemp(prefix="busybox-arm64-", dir=cache_dir()))
        try:
            try:
                _run("apt-get", "download", "-qq", "busybox-static:arm64", cwd=work)
            except RuntimeError:  # the arm64 package lists are not there yet
                _run("apt-get", "update", "-qq")
                _run("apt-get", "download", "-qq", "busybox-static:arm64", cwd=work)
            (deb,) = work.glob("busybox-static_*_arm64.deb")
            _run("dpkg-deb", "-x", str(deb), str(work / "root"))
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            shutil.copy2(work / "root" / "bin" / "busybox", tmp)
            tmp.replace(target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def arm64_busybox_tar(work: Path) -> Path:
    """A tarball of a busybox root filesystem whose binary is the arm64 one."""
    root = make_busybox_rootfs(work / "rootfs-arm64")
    (root / "bin" / "busybox").unlink()
    shutil.copy2(arm64_busybox_binary(), root / "bin" / "busybox")
    (root / "bin" / "busybox").chmod(0o755)
    return tar_rootfs(root, work / "busybox-arm64.tar")


def ensure_qemu_aarch64() -> None:
    """Register qemu-user-static's aarch64 handler (what ``make binfmt`` does) unless it is."""
    handler = BINFMT / "qemu-aarch64"
    if handler.exists() and handler.read_text().startswith("enabled"):
        return
    if not (BINFMT / "register").exists():
        _run("mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT))
    if not handler.exists() or not handler.read_text().startswith("enabled"):
        _run("update-binfmts", "--enable", "qemu-aarch64")
