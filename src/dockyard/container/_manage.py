"""``ps``, ``rm`` and ``container prune`` over the containers of a store."""

from __future__ import annotations

import contextlib
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.container._records import ContainerRecord
from dockyard.container._run import container_store, kill_container, remove_container
from dockyard.errors import Conflict

if TYPE_CHECKING:
    from dockyard.local import LocalStore

__all__ = ["list_containers", "prune_containers", "remove_containers"]


def list_containers(store: LocalStore, *, all: bool = False) -> list[ContainerRecord]:
    """Running containers (every one with ``all``), newest first."""
    records = container_store(store).all()
    return records if all else [r for r in records if r.is_running()]


def remove_containers(
    store: LocalStore, names: Sequence[str], *, force: bool = False
) -> list[tuple[str, Exception | None]]:
    """Remove each container (a running one only with ``force``, which kills it first);
    ``(name as given, error or None)`` for each."""
    containers = container_store(store)
    results: list[tuple[str, Exception | None]] = []
    for name in names:
        try:
            record = containers.find(name)
            if record.is_running():
                if not force:
                    raise Conflict(
                        f"cannot remove container {name}: it is running; stop it or use --force"
                    )
                kill_container(store, record)
            remove_container(store, record)
            results.append((name, None))
        except Exception as exc:  # reported per name, as docker rm does
            results.append((name, exc))
    return results


def _size(directory: Path) -> int:
    total = 0
    for path in directory.rglob("*"):
        with contextlib.suppress(OSError):
            st = path.lstat()
            if not stat.S_ISDIR(st.st_mode):
                total += st.st_size
    return total


def prune_containers(store: LocalStore) -> tuple[list[ContainerRecord], int]:
    """Remove every stopped container: ``(the removed, bytes freed in their writable layers)``."""
    containers = container_store(store)
    removed, freed = [], 0
    for record in containers.all():
        if not record.is_running():
            freed += _size(containers.directory(record.id) / "upper")
            remove_container(store, record)
            removed.append(record)
    return removed, freed
