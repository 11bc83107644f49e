"""The build context as the solver reads it: checksums for cache keys, a filtered view to copy.

Checksums are taken on the context directory itself, so the worker's stat index makes an
unchanged context cost only ``lstat`` calls. With ``.dockerignore`` patterns, COPY reads from a
filtered copy of the context made on first use (only a cache miss needs it); the patterns are
part of every key.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from dockyard.builder.context import walk_context
from dockyard.builder.worker import Worker

__all__ = ["BuildContext"]


class BuildContext:
    def __init__(self, root: Path, patterns: list[str], worker: Worker, scratch: Path) -> None:
        self.root = root.resolve()
        self.patterns = patterns
        self.worker = worker
        self._scratch = scratch
        self._view: Path | None = None
        self._lock = threading.Lock()
        self.patterns_digest = hashlib.sha256("\n".join(patterns).encode()).hexdigest()

    def checksum(self, sources: Sequence[str], excludes: Sequence[str] = ()) -> str:
        digest = self.worker.checksums.checksum(self.root, list(sources), excludes=list(excludes))
        return f"{digest}+{self.patterns_digest}" if self.patterns else str(digest)

    def view(self) -> Path:
        """The directory COPY reads: the context, or its filtered copy when patterns exist."""
        if not self.patterns:
            return self.root
        with self._lock:
            if self._view is None:
                self._view = _filtered_copy(self.root, self.patterns, self._scratch)
            return self._view


def _filtered_copy(root: Path, patterns: list[str], scratch: Path) -> Path:
    scratch.mkdir(parents=True, exist_ok=True)
    view = Path(tempfile.mkdtemp(prefix="context-", dir=scratch))
    os.chmod(view, stat.S_IMODE(os.lstat(root).st_mode))
    dirs: list[tuple[Path, os.stat_result]] = []
    for entry in walk_context(root, patterns):
        src = root / entry.path
        dst = view / entry.path
        mode = entry.stat.st_mode
        if stat.S_ISDIR(mode):
            dst.mkdir(exist_ok=True)
            dirs.append((dst, entry.stat))
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(src), dst)
        elif stat.S_ISREG(mode):
            shutil.copy2(src, dst, follow_symlinks=False)
        else:
            continue
    for dst, st in reversed(dirs):
        os.chmod(dst, stat.S_IMODE(st.st_mode))
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
    return view
