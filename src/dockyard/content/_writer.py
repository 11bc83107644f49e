"""The ingest path: hash while writing, verify on commit, publish atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from dockyard.atomicfile import fsync_dir
from dockyard.digest import Digest, Digester
from dockyard.errors import DigestInvalid, FailedPrecondition, SizeInvalid

__all__ = ["BUFFER_SIZE", "ContentWriter", "fsync_dir"]

#: Read/write chunk size for streaming blobs.
BUFFER_SIZE = 1 << 20

#: Called with the verified digest just before a blob is published (used to take a lease first).
PublishHook = Callable[[Digest], None]


def _refresh(target: Path) -> bool:
    """True when ``target`` exists; its mtime is bumped so that a collector running right now
    sees a fresh blob (gc keeps blobs written since the oldest live lease began)."""
    try:
        os.utime(target)
    except FileNotFoundError:
        return False
    except PermissionError:  # another user's store file: it exists, that is all we need
        return True
    return True


class ContentWriter:
    """Writes one blob to a private temp file; nothing is visible until :meth:`commit`.

    Use as a context manager: leaving the block without committing (or with an exception)
    removes the temp file.
    """

    def __init__(
        self,
        blobs: Path,
        ingest: Path,
        *,
        expected: Digest | None = None,
        size: int | None = None,
        algorithm: str = "sha256",
        before_publish: PublishHook | None = None,
        sync_dir: bool = True,
        source_verifies: bool = False,
    ) -> None:
        """``sync_dir=False`` leaves the sync of ``blobs/<alg>`` after the rename to the caller,
        who syncs it once for many blobs before anything names them (the blob's own bytes are
        always synced before the rename). ``source_verifies=True``: the bytes come from a
        stream that vouches for ``expected`` and ``size`` (see ``_reader.vouched``), so they are
        counted but not hashed again."""
        if size is not None and size < 0:
            raise SizeInvalid(f"invalid blob size {size}: sizes are zero or more bytes")
        self._blobs = blobs
        self._expected = expected
        self._size = size
        if source_verifies and (expected is None or size is None):
            raise FailedPrecondition(
                "a blob from a verifying source needs its expected digest and size"
            )
        self._hasher: Digester | None = (
            None if source_verifies else Digester(expected.algorithm if expected else algorithm)
        )
        self._written = 0
        self._before_publish = before_publish
        self._sync_dir = sync_dir
        fd, name = tempfile.mkstemp(dir=ingest, prefix="blob-", suffix=".part")
        self._temp = Path(name)
        self._file = os.fdopen(fd, "wb", buffering=BUFFER_SIZE)
        self._result: tuple[Digest, int] | None = None
        self._closed = False

    @property
    def written(self) -> int:
        return self._written

    @property
    def temp_path(self) -> Path:
        return self._temp

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            raise FailedPrecondition(
                "content writer is already committed or aborted; open a new one"
            )
        n = len(data)
        if self._size is not None and self._written + n > self._size:
            what = f"blob {self._expected}" if self._expected else "blob"
            raise SizeInvalid(
                f"{what} is larger than the declared {self._size} bytes; the source sent more "
                "data than its descriptor says — check the source and try again"
            )
        if self._hasher is not None:
            self._hasher.update(data)
        self._file.write(data)
        self._written += n
        return n

    def commit(
        self, *, size: int | None = None, expected: Digest | None = None
    ) -> tuple[Digest, int]:
        """Verify and publish the blob; returns ``(digest, size)``. Already present = success."""
        if self._result is not None:
            return self._result
        if self._closed:
            raise FailedPrecondition("content writer was aborted; open a new one")
        size = self._size if size is None else size
        expected = self._expected if expected is None else expected
        try:
            got = self._written
            if size is not None and got != size:
                raise SizeInvalid(
                    f"blob {expected or '(unknown digest)'}: expected {size} bytes, got {got}; "
                    "the transfer was cut short or the descriptor is wrong — try again",
                    detail={"expected": size, "actual": got},
                )
            if self._hasher is not None:
                actual = self._hasher.digest()
            elif got != self._size or self._expected is None:
                # the source vouches only for the whole blob it was opened for
                raise SizeInvalid(
                    f"blob {self._expected}: expected {self._size} bytes, got {got}; "
                    "the transfer was cut short — try again",
                    detail={"expected": self._size, "actual": got},
                )
            else:  # the source checked these bytes against the digest the writer expects
                actual = self._expected
            if expected is not None and actual != expected:
                raise DigestInvalid(
                    f"content digest mismatch: expected {expected}, got {actual} "
                    f"({got} bytes); the source sent different content — try again",
                    detail={"expected": str(expected), "actual": str(actual)},
                )
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._closed = True
            os.chmod(self._temp, 0o444)
            if self._before_publish is not None:
                self._before_publish(actual)
            target_dir = self._blobs / actual.algorithm
            target = target_dir / actual.hex
            if _refresh(target):
                self._temp.unlink(missing_ok=True)
            else:
                target_dir.mkdir(parents=True, exist_ok=True)
                os.replace(self._temp, target)
                if self._sync_dir:
                    fsync_dir(target_dir)
        except BaseException:
            self.abort()
            raise
        self._result = (actual, got)
        return self._result

    def abort(self) -> None:
        """Discard everything written; safe to call more than once."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(OSError):  # a failed flush: the temp goes anyway
                self._file.close()
        if self._result is None:
            self._temp.unlink(missing_ok=True)

    def __enter__(self) -> ContentWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._result is None:
            self.abort()
