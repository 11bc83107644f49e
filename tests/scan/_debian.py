"""The shared Debian bookworm minbase root filesystem (see tests/_infra/_debian.py)."""

from _infra._debian import cache_dir, debian_rootfs_tarball

__all__ = ["cache_dir", "debian_rootfs_tarball"]
