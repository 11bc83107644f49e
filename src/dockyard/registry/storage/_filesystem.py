"""FilesystemDriver: keys are files under one root directory."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from dockyard.atomicfile import fsync_dir
from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.registry.storage._driver import FileInfo

__all__ = ["FilesystemDriver"]

_COMPONENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
#: How often, and how far apart (seconds), a writer tries to take its file's lock.
_LOCK_ATTEMPTS = 50
_LOCK_WAIT = 0.01


def _lock(fd: int, attempts: int) -> bool:
    """Take an exclusive ``flock`` on ``fd`` (it excludes other open files, in this process
    too), trying ``attempts`` times a few milliseconds apart; whether it was taken."""
    for attempt in range(attempts):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if attempt + 1 < attempts:
                time.sleep(_LOCK_WAIT)
    return False


class _FileWriter:
    """Holds an exclusive lock on its file from open to close."""

    __slots__ = ("_file", "_size")

    def __init__(self, path: Path, offset: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        # a trim holds the lock for microseconds: wait that out, not another writer
        if not _lock(fd, _LOCK_ATTEMPTS):
            os.close(fd)
            raise Conflict(
                f"{path.name} is being written by another request; retry when it has finished"
            )
        self._file = os.fdopen(fd, "wb", buffering=0)
        os.ftruncate(fd, offset)
        self._file.seek(offset)
        self._size = offset

    @property
    def size(self) -> int:
        return self._size

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data)
        while view:
            n = self._file.write(view)
            if n is None:  # pragma: no cover - only for non-blocking files
                continue
            view = view[n:]
        self._size += len(data)
        return len(data)

    def commit(self) -> None:
        os.fsync(self._file.fileno())

    def truncate(self, size: int) -> None:
        if self._file.closed or size >= self._size:
            return
        os.ftruncate(self._file.fileno(), size)
        self._file.seek(size)
        self._size = size

    def close(self) -> None:
        self._file.close()  # closing the descriptor releases the lock


class FilesystemDriver:
    """Stores every key as a file below ``root``; keys never escape it."""

    #: registry:2's name for this kind of driver (its metrics' ``driver`` label)
    kind = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not parts or not all(_COMPONENT.fullmatch(p) and p not in (".", "..") for p in parts):
            raise InvalidArgument(f"invalid storage key {key!r}")
        return self.root.joinpath(*parts)

    def reader(self, key: str, offset: int = 0) -> BinaryIO:
        try:
            f = open(self._path(key), "rb")  # noqa: SIM115 - the caller closes it
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"no content at {key}") from None
        if offset:
            f.seek(offset)
        return f

    def writer(self, key: str, offset: int = 0) -> _FileWriter:
        return _FileWriter(self._path(key), offset)

    def trim(self, key: str, keep: Callable[[], int | None]) -> bool:
        try:
            fd = os.open(self._path(key), os.O_WRONLY)
        except (FileNotFoundError, NotADirectoryError):
            return False
        try:
            if not _lock(fd, 1):
                return False
            size = keep()
            if size is None or os.fstat(fd).st_size <= size:
                return False
            os.ftruncate(fd, size)
            return True
        finally:
            os.close(fd)

    def stat(self, key: str) -> FileInfo | None:
        try:
            st = os.stat(self._path(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return FileInfo(key, st.st_size, st.st_mtime)

    def delete(self, key: str) -> None:
        path = self._path(key)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                path.unlink()

    def list(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix)
        for dirpath, _dirs, files in os.walk(base):
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in files:
                yield f"{rel}/{name}"

    def move(self, source: str, target: str) -> None:
        src, dst = self._path(source), self._path(target)
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(src, dst)
        except FileNotFoundError:
            raise NotFound(f"no content at {source}") from None
        fsync_dir(dst.parent)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def body_socket(self, key: str, offset: int, length: int) -> socket.socket | None:
        self._path(key)
        return None  # files go out with sendfile from local_path

    def url_for(self, key: str) -> str | None:
        self._path(key)
        return None
