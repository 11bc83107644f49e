"""Removing build cache entries: records and checksum indexes from their databases,
directories and files moved aside (mounts an interrupted build left detached first), then
deleted; the databases given back their free pages."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from dockyard.builder.cache._inventory import Item
from dockyard.builder.cache._sqlite import vacuum as _vacuum
from dockyard.builder.cache.checksums import CHECKSUM_DB, forget_roots
from dockyard.builder.cache.records import CACHE_DB
from dockyard.builder.cache.records import delete_records as _delete_records
from dockyard.builder.worker._overlay import unmount

__all__ = ["delete_records", "remove", "rmtree", "vacuum"]


def remove(root: Path, chosen: list[Item], trash: Path) -> tuple[list[Item], list[str]]:
    """Remove ``chosen``: records and checksum indexes from their databases, directories and
    files moved into ``trash`` (deleted once the lock is released)."""
    removed = delete_records(root, [i for i in chosen if i.type in ("regular", "metadata")])
    warnings: list[str] = []
    contexts = [i for i in chosen if i.type == "source.local"]
    if contexts:
        forget_roots(root / CHECKSUM_DB, [i.ref for i in contexts])
        removed += contexts
    trash.mkdir(parents=True, exist_ok=True)
    mounts = _mounts()
    for item in chosen:
        if item.type in ("regular", "metadata", "source.local"):
            continue
        path = root / item.ref
        problem = _unmount_below(path, mounts)
        if problem is None:
            try:
                os.rename(path, trash / f"{len(removed)}-{path.name}")
            except FileNotFoundError:
                continue
            except OSError as exc:
                problem = f"cannot move it aside ({exc.strerror or exc})"
        if problem is not None:
            warnings.append(f"kept {item.entry.description}: {problem}")
            continue
        removed.append(item)
    return removed, warnings


def delete_records(root: Path, items: list[Item]) -> list[Item]:
    """Delete each record that still holds the value it was chosen with (a build that wrote the
    key again meanwhile keeps its new record)."""
    deleted = _delete_records(root / CACHE_DB, [(i.ref, i.value) for i in items])
    return [i for i in items if i.ref in deleted]


def _mounts() -> list[str]:
    """Every mount point this process sees (``/proc/self/mountinfo``'s fifth field)."""
    try:
        text = Path("/proc/self/mountinfo").read_text()
    except OSError:
        return []
    points = []
    for line in text.splitlines():
        parts = line.split(" ")
        if len(parts) > 4:
            points.append(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[4]))
    return points


def _unmount_below(path: Path, mounts: list[str]) -> str | None:
    """Detach mounts an interrupted build left under ``path``; a reason when one stays."""
    base = str(path.resolve())
    below = [m for m in mounts if m == base or m.startswith(base + "/")]
    if not below:
        return None

    for point in sorted(below, key=len, reverse=True):
        try:
            unmount(Path(point))
        except OSError as exc:
            return f"{point} is mounted and cannot be unmounted ({exc.strerror or exc})"
    return None


def vacuum(root: Path, removed: list[Item]) -> None:
    """Give the pages of deleted rows back to the file system."""
    for name, types in ((CACHE_DB, ("regular", "metadata")), (CHECKSUM_DB, ("source.local",))):
        if any(i.type in types for i in removed):
            _vacuum(root / name)


def rmtree(path: Path) -> None:
    def retry(func: Callable[..., object], target: str, exc: object) -> None:
        # a directory without write permission (a copied root filesystem, not as root)
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target), 0o700)
            if os.path.isdir(target) and not os.path.islink(target):
                os.chmod(target, 0o700)
        with contextlib.suppress(OSError):
            func(target)

    if path.exists():
        shutil.rmtree(path, onerror=retry)
