"""``system df`` and ``info``: what the store holds and what it costs."""

from __future__ import annotations

import platform as host_platform
import shutil
from dataclasses import dataclass
from typing import Any

from dockyard import __version__
from dockyard.builder.worker.runtime import find_runtime, installed_runtimes
from dockyard.errors import RuntimeMissing
from dockyard.image.blob import reachable
from dockyard.image.store import StoreSource
from dockyard.imageservice._summary import ImageSummary, summaries
from dockyard.local import LocalStore
from dockyard.oci import Platform

__all__ = ["DiskUsage", "disk_usage", "system_info"]


@dataclass
class DiskUsage:
    images: list[ImageSummary]
    total_images: int
    active_images: int
    size: int  # bytes of every blob in the store, counted once
    reclaimable: int  # bytes only dangling images hold
    unique: dict[str, int]  # image ID -> bytes no other image shares


def disk_usage(store: LocalStore) -> DiskUsage:
    images = summaries(store)
    blob_sizes = {str(d): s for d, s in store.content.walk()}
    owners: dict[str, set[str]] = {}
    for image in images:
        for reached in reachable(StoreSource(store), image.descriptor):
            owners.setdefault(str(reached), set()).add(str(image.id))
    unique: dict[str, int] = {}
    reclaimable = 0
    dangling = {str(i.id) for i in images if i.dangling}
    for blob, ids in owners.items():
        size = blob_sizes.get(blob, 0)
        if len(ids) == 1:
            (only,) = ids
            unique[only] = unique.get(only, 0) + size
        if ids <= dangling:
            reclaimable += size
    unowned = sum(size for blob, size in blob_sizes.items() if blob not in owners)
    return DiskUsage(
        images=images,
        total_images=len(images),
        active_images=len([i for i in images if not i.dangling]),
        size=sum(blob_sizes.values()),
        reclaimable=reclaimable + unowned,
        unique=unique,
    )


def _operating_system() -> str:
    """The host's name as ``docker info`` gives it: os-release's ``PRETTY_NAME`` (``Debian
    GNU/Linux 12 (bookworm)``), else the kernel's name (``Linux``)."""
    try:
        pretty = host_platform.freedesktop_os_release().get("PRETTY_NAME", "")
    except OSError:
        pretty = ""
    return pretty or host_platform.system() or "Linux"


def _default_runtime(store: LocalStore) -> str:
    """The runtime ``build`` and ``run`` use when none is named: the same choice (runc where
    crun is installed but cannot run containers, as on a hybrid cgroup host), or ""."""
    try:
        return find_runtime(store.root / "runtime").name
    except RuntimeMissing:
        return ""


def system_info(store: LocalStore) -> dict[str, Any]:
    """Facts about this dockyard and its store, keyed like ``docker info`` where they overlap."""
    images = summaries(store)
    runtimes = installed_runtimes()
    free = shutil.disk_usage(store.root).free
    return {
        "ServerVersion": __version__,
        "Images": len(images),
        "Tags": sum(len(i.tags) for i in images),
        "Driver": "oci-layout",
        "DockyardRootDir": str(store.root),
        "Blobs": sum(1 for _ in store.content.walk()),
        "Runtimes": runtimes,
        "DefaultRuntime": _default_runtime(store),
        "OperatingSystem": _operating_system(),
        "OSType": host_platform.system().lower() or "linux",
        "Architecture": host_platform.machine(),
        "Platform": str(Platform.current()),
        "KernelVersion": host_platform.release(),
        "PythonVersion": host_platform.python_version(),
        "DiskFree": free,
    }
