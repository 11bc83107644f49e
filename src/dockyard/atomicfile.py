"""Files that appear whole or not at all: write a temporary file beside the target, fsync it,
rename it into place, fsync the directory. Every small file dockyard writes goes through here."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from dockyard.errors import FailedPrecondition

__all__ = ["atomic_output", "fsync_dir", "write_atomic"]


def fsync_dir(path: Path) -> None:
    """Make a rename (or unlink) in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_output(path: Path, *, mode: int = 0o644, durable: bool = True) -> Iterator[BinaryIO]:
    """A binary file to write; on a clean exit it replaces ``path``, on an error it vanishes.

    The temporary file has ``mode`` from its first byte (secrets are never readable by others,
    not even briefly). ``durable`` fsyncs the data and the directory.
    """
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise FailedPrecondition(
            f"cannot write {path}: {exc.strerror or exc}",
            hint="check that its directory exists and is writable",
        ) from exc
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            if durable:
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically (see :func:`atomic_output`)."""
    with atomic_output(path, mode=mode, durable=durable) as out:
        out.write(data)
