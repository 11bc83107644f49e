"""A reader that hashes a blob as it streams and refuses to end quietly on corrupt content."""

from __future__ import annotations

import io
from pathlib import Path

from dockyard.digest import Digest, Digester
from dockyard.errors import DigestInvalid, SizeInvalid

__all__ = ["VerifyingReader", "corrupt_blob_error", "vouched"]


def corrupt_blob_error(digest: Digest, path: Path, size: int, actual: Digest) -> DigestInvalid:
    return DigestInvalid(
        f"blob {digest} is corrupt: its {size} bytes hash to {actual}; "
        f"remove {path} (or run `dockyard image prune`) and pull or load the image again",
        detail={"expected": str(digest), "actual": str(actual), "size": size},
    )


class VerifyingReader(io.RawIOBase):
    """Raw reader over a blob file; checks size and digest when the end is reached, or as soon
    as the declared ``size`` has been read.

    Wrap it in :class:`io.BufferedReader` (``ContentStore.open`` does) for a ``BinaryIO``.
    """

    def __init__(self, path: Path, digest: Digest, size: int | None = None) -> None:
        super().__init__()
        self._path = path
        self._digest = digest
        self._expected_size = size
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed in close()
        self._hasher = Digester(digest.algorithm)
        self._verified = False

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._file.fileno()

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        n = self._file.readinto(buffer)
        if n is None:  # pragma: no cover - regular files never block
            return 0
        if n:
            self._hasher.update(memoryview(buffer)[:n])
            if self._expected_size is not None and self._hasher.size > self._expected_size:
                raise SizeInvalid(
                    f"blob {self._digest} is larger than the {self._expected_size} bytes its "
                    f"descriptor declares; remove {self._path} and pull or load the image again"
                )
            if self._hasher.size == self._expected_size and not self._verified:
                # readers that stop at the declared size (tar writers do) never see EOF
                self._verify()
            return n
        if not self._verified:
            self._verify()
        return 0

    def _verify(self) -> None:
        got = self._hasher.size
        if self._expected_size is not None and got != self._expected_size:
            raise SizeInvalid(
                f"blob {self._digest} has {got} bytes but its descriptor declares "
                f"{self._expected_size}; remove {self._path} and pull or load the image again"
            )
        actual = self._hasher.digest()
        if actual != self._digest:
            raise corrupt_blob_error(self._digest, self._path, got, actual)
        self._verified = True

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


# Streams that check their own digest, so that a blob is hashed once on its way into a store.
# A stream *vouches* for ``(digest, size)`` when it hands out ``size`` bytes only if they hash
# to ``digest``: it hashes as it is read and raises (``DigestInvalid``, ``SizeInvalid``) before
# it returns the last bytes of content that does not match. A verified registry download is
# such a stream; the content store need not hash its bytes a second time.

#: wrappers looked through (``io.BufferedReader`` around a raw stream)
_DEPTH = 4


def vouched(stream: object) -> tuple[Digest, int] | None:
    """The ``(digest, size)`` that ``stream`` (or the raw stream under its buffering)
    vouches for through its ``vouched`` attribute, or None."""
    for _ in range(_DEPTH):
        claim = getattr(stream, "vouched", None)
        if claim is not None:
            digest, size = claim
            if isinstance(digest, Digest) and isinstance(size, int):
                return digest, size
            return None
        if not isinstance(stream, io.BufferedReader):
            return None
        stream = stream.raw
    return None
