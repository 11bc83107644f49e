"""Downloading a blob: verified by digest, resumed with ``Range`` after a dropped connection."""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error

from dockyard.digest import Digest, Digester
from dockyard.errors import DigestInvalid, SizeInvalid, Unavailable
from dockyard.oci import Descriptor

__all__ = ["MAX_RESUMES", "BlobReader"]

#: How many times one download may be resumed after the connection drops.
MAX_RESUMES = 5

#: Open the blob from byte ``offset`` (0: all of it) → a streaming response (200 or 206).
Opener = Callable[[int], urllib3.BaseHTTPResponse]


class BlobReader(io.RawIOBase):
    """Raw stream of one blob. Hashes as it reads; at the declared size it checks the digest
    and raises :class:`DigestInvalid` naming where the blob came from. When the connection
    drops, it reopens at the current offset (``Range: bytes=N-``) and carries on."""

    def __init__(self, descriptor: Descriptor, opener: Opener, where: str) -> None:
        super().__init__()
        self._desc = descriptor
        self._open = opener
        self._where = where
        self._hasher = Digester(descriptor.digest.algorithm)
        self._resp: urllib3.BaseHTTPResponse | None = opener(0)
        self._resumes = 0
        self._done = False
        #: How many times this download was resumed (for tests and logs).
        self.resumed = 0

    def readable(self) -> bool:
        return True

    @property
    def vouched(self) -> tuple[Digest, int]:
        """What this stream guarantees: it gives exactly these many bytes only when they hash
        to this digest (and raises before the last of them otherwise), so a content store
        need not hash them again."""
        return self._desc.digest, self._desc.size

    @property
    def offset(self) -> int:
        return self._hasher.size

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._done:
            return 0
        view = memoryview(buffer)
        remaining = self._desc.size - self.offset
        if remaining <= 0:
            self._finish()
            return 0
        if len(view) > remaining:
            view = view[:remaining]
        while True:
            try:
                assert self._resp is not None
                n = self._resp.readinto(view)
            except (Urllib3Error, OSError) as exc:
                self._resume(exc)
                continue
            if n == 0:
                self._resume(None)
                continue
            self._hasher.update(view[:n])
            if self.offset == self._desc.size:
                self._finish()
            return n

    def _resume(self, exc: BaseException | None) -> None:
        if self._resp is not None:
            self._resp.release_conn()
            self._resp = None
        self._resumes += 1
        if self._resumes > MAX_RESUMES:
            cause = f" ({exc})" if exc is not None else ""
            raise Unavailable(
                f"download of {self._desc.digest} from {self._where} kept breaking off at "
                f"{self.offset} of {self._desc.size} bytes{cause}",
                hint="check the network or the registry, then try again (completed layers "
                "are kept)",
            )
        time.sleep(min(2.0, 0.1 * 2**self._resumes))
        resp = self._open(self.offset)
        if resp.status == 200 and self.offset:
            # the server ignored Range: skip what we already have
            skip = self.offset
            while skip:
                chunk = resp.read(min(skip, 1 << 20))
                if not chunk:
                    break
                skip -= len(chunk)
        self._resp = resp
        self.resumed += 1

    def _finish(self) -> None:
        self._done = True
        if self._resp is not None:
            extra = self._resp.read(1) if self._resp.status in (200, 206) else b""
            self._resp.release_conn()
            self._resp = None
            if extra:
                raise SizeInvalid(
                    f"blob {self._desc.digest} from {self._where} is longer than the "
                    f"{self._desc.size} bytes its descriptor declares"
                )
        actual = self._hasher.digest()
        if actual != self._desc.digest:
            raise DigestInvalid(
                f"blob {self._desc.digest} downloaded from {self._where} is corrupt: its "
                f"{self._desc.size} bytes hash to {actual}",
                hint="nothing was kept; try again, and if it persists the registry (or a proxy "
                "in between) is damaging data: tell its operator",
                detail={"expected": str(self._desc.digest), "actual": str(actual)},
            )

    def close(self) -> None:
        if self._resp is not None:
            self._resp.release_conn()
            self._resp = None
        super().close()
