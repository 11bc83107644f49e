"""Files that appear whole or not at all: write a temporary file beside the target, fsync it,
rename it into place, fsync the directory. Every small file dockyard writes goes through here.

Only :mod:`os` is loaded at import (the no-op rebuild writes ``--iidfile`` with it before
anything else loads); paths may be strings or :class:`pathlib.Path`.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing is not loaded on the no-op path (docs/architecture.md)
if TYPE_CHECKING:
    from types import TracebackType
    from typing import BinaryIO

    StrPath = str | os.PathLike[str]

__all__ = ["atomic_output", "fsync_dir", "write_atomic"]


def fsync_dir(path: StrPath) -> None:
    """Make a rename (or unlink) in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _open_temp(target: str, mode: int) -> tuple[int, str]:
    """A new file beside ``target`` (``.<name>.<random>.tmp``), with ``mode`` from the start
    (secrets are never readable by others, not even briefly)."""
    directory, name = os.path.split(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    for _ in range(100):
        tmp = os.path.join(directory, f".{name}.{os.urandom(6).hex()}.tmp")
        try:
            fd = os.open(tmp, flags, 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            from dockyard.errors import FailedPrecondition

            raise FailedPrecondition(
                f"cannot write {target}: {exc.strerror or exc}",
                hint="check that its directory exists and is writable",
            ) from exc
        try:
            os.fchmod(fd, mode)
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        return fd, tmp
    raise FileExistsError(f"no free temporary name beside {target}")


class atomic_output:  # named as the function it replaced: ``with atomic_output(path) as f``
    """A binary file to write; on a clean exit it replaces ``path``, on an error it vanishes.

    The temporary file has ``mode`` from its first byte. ``durable`` fsyncs the data and the
    directory.
    """

    def __init__(self, path: StrPath, *, mode: int = 0o644, durable: bool = True) -> None:
        self._target = os.fspath(path)
        self._mode = mode
        self._durable = durable
        self._tmp = ""
        self._file: BinaryIO | None = None

    def __enter__(self) -> BinaryIO:
        fd, self._tmp = _open_temp(self._target, self._mode)
        self._file = os.fdopen(fd, "wb")
        return self._file

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        out, self._file = self._file, None
        assert out is not None
        try:
            with out:
                if exc_type is None:
                    out.flush()
                    if self._durable:
                        os.fsync(out.fileno())
            if exc_type is None:
                os.replace(self._tmp, self._target)
        except BaseException:
            _discard(self._tmp)
            raise
        if exc_type is not None:
            _discard(self._tmp)
            return
        if self._durable:
            fsync_dir(os.path.dirname(self._target) or ".")


def _discard(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return


def write_atomic(path: StrPath, data: bytes, *, mode: int = 0o644, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically (see :class:`atomic_output`)."""
    with atomic_output(path, mode=mode, durable=durable) as out:
        out.write(data)
