"""The build directory's use lock: every build shares it, a cache prune takes it alone.

A build holds ``flock(LOCK_SH)`` on ``<store>/build/lock`` from the moment it opens the cache
records until it has written its outputs (the solver's :class:`BuildCache` takes and releases
it), so several builds run side by side. ``dockyard builder prune`` asks for ``LOCK_EX``
without waiting: when it gets it no build is using a snapshot, a cache mount or a cached
layer, and a build that starts meanwhile waits (the prune holds the lock only while it moves
what it removes aside and collects garbage, not while it deletes). When a build holds the
lock, the prune removes only what no build can use and says so.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

__all__ = ["LOCK_FILE", "BuildLock"]

#: The lock file, inside the store's ``build/`` directory.
LOCK_FILE = "lock"


class BuildLock:
    """One hold on ``<build root>/lock``: shared (a build) or exclusive (a prune)."""

    def __init__(self, fd: int, exclusive: bool) -> None:
        self._fd: int | None = fd
        self.exclusive = exclusive

    @classmethod
    def _open(cls, root: Path) -> int:
        root.mkdir(parents=True, exist_ok=True)
        return os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    @classmethod
    def shared(cls, root: Path) -> BuildLock:
        """Wait for a shared hold (a prune in progress finishes its quick part first)."""
        fd = cls._open(root)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, exclusive=False)

    @classmethod
    def try_exclusive(cls, root: Path) -> BuildLock | None:
        """An exclusive hold, or None at once when a build (or another prune) holds the lock."""
        fd = cls._open(root)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, exclusive=True)

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor drops the flock

    def __enter__(self) -> BuildLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
