"""The files a scan worker reads: each blob of the image, as a path.

A scan runs in a separate, limited process (:mod:`._sandbox`) that is handed paths, never
bytes. A storage driver with local files names them (:meth:`StorageDriver.local_path`: the
filesystem driver; no copy, and the worker checks each digest as it reads). Any other driver
(S3) is read through its public :meth:`StorageDriver.reader`, streamed into a private temporary
directory that :meth:`BlobFiles.close` removes: each blob's size is checked against its
descriptor and the scan's limits before a byte is copied, its digest while it is copied, and
the whole copy runs against the scan's wall-clock deadline. No unverified byte reaches a worker.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from dockyard.digest import Digest, Digester
from dockyard.errors import BlobUnknown, DigestInvalid, NotFound, SizeInvalid
from dockyard.oci import Descriptor
from dockyard.registry.scanning._sandbox import seconds_shown, wall_seconds
from dockyard.registry.storage import StorageDriver, blob_key
from dockyard.scan import ScanBudget, ScanLimitExceeded, shown_bytes

__all__ = ["BlobFiles", "VerifyingStream", "spill_bound"]

_CHUNK = 1 << 20


def spill_bound(budget: ScanBudget) -> int:
    """The largest layer blob worth copying: gzip and zstd expand incompressible data by well
    under 1/64, so a layer blob larger than this decompresses past ``limits.scanlayerbytes``
    for certain, and the scan would stop there anyway."""
    return budget.layer_bytes + budget.layer_bytes // 64 + _CHUNK


class VerifyingStream(io.RawIOBase):
    """Reads ``raw`` (a blob's bytes from storage) and raises before handing out its last
    bytes unless they are exactly ``size`` bytes hashing to ``digest``."""

    def __init__(self, raw: BinaryIO, digest: Digest, size: int) -> None:
        super().__init__()
        self._raw = raw
        self._digest = digest
        self._size = size
        self._hasher = Digester(digest.algorithm)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        got = self._hasher.size + len(data)
        if got > self._size:
            raise SizeInvalid(
                f"blob {self._digest} in the registry's storage is larger than the "
                f"{self._size} bytes its descriptor declares"
            )
        if data:
            self._hasher.update(data)
        elif got < self._size:
            raise SizeInvalid(
                f"blob {self._digest} in the registry's storage has {got} bytes but its "
                f"descriptor declares {self._size}"
            )
        if got == self._size:  # before the last bytes are handed out (and at the end)
            self._check()
        view[: len(data)] = data
        return len(data)

    def _check(self) -> None:
        if self._hasher.digest() != self._digest:
            raise DigestInvalid(
                f"blob {self._digest} in the registry's storage does not match its digest: "
                "the stored bytes are corrupt; push the image again"
            )

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class BlobFiles:
    """Paths of an image's blobs for one scan; :meth:`close` removes any copies made."""

    def __init__(
        self, storage: StorageDriver, budget: ScanBudget, seconds: float | None = None
    ) -> None:
        self.storage = storage
        self.budget = budget
        #: ``limits.scanseconds``: copies made after the scan's wall-clock deadline (the one
        #: its worker gets, counted from now) fail the scan naming that limit
        self.seconds = seconds
        self._deadline = None if seconds is None else time.monotonic() + wall_seconds(seconds)
        self._dir: Path | None = None
        self._copies: dict[str, str] = {}

    def __enter__(self) -> BlobFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def path(self, descriptor: Descriptor, *, config: bool = False) -> str:
        """A file holding ``descriptor``'s blob (``config``: the image config, which the worker
        reads whole: bounded by ``limits.scanfilebytes``, as it is there)."""
        key = blob_key(descriptor.digest)
        local = self.storage.local_path(key)
        if local is not None:
            return str(local)
        if config:
            self.budget.check_file(f"blob {descriptor.digest}", descriptor.size)
        elif descriptor.size > spill_bound(self.budget):
            raise ScanLimitExceeded(
                "scanlayerbytes",
                shown_bytes(self.budget.layer_bytes),
                f"layer {descriptor.digest} is {descriptor.size:,} bytes compressed, so it "
                "decompresses to more than that",
            )
        made = self._copies.get(str(descriptor.digest))
        if made is None:  # a layer listed twice is copied once
            made = self._copies[str(descriptor.digest)] = str(self._copy(key, descriptor))
        return made

    def _copy(self, key: str, descriptor: Descriptor) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="dockyard-scan-"))  # mode 0700
        target = self._dir / f"{descriptor.digest.algorithm}-{descriptor.digest.hex}"
        try:
            source = self.storage.reader(key)
        except NotFound as exc:
            raise BlobUnknown(f"blob {descriptor.digest} is not in the registry's storage") from exc
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        with (
            VerifyingStream(source, descriptor.digest, descriptor.size) as stream,
            open(os.open(target, flags, 0o600), "wb") as out,
        ):
            buffer = bytearray(_CHUNK)
            while n := stream.readinto(buffer):
                out.write(memoryview(buffer)[:n])
                self._check_deadline(descriptor)
        return target

    def _check_deadline(self, descriptor: Descriptor) -> None:
        if self._deadline is None or self.seconds is None or time.monotonic() <= self._deadline:
            return
        raise ScanLimitExceeded(
            "scanseconds",
            seconds_shown(self.seconds),
            f"reading blob {descriptor.digest} from storage took longer than "
            f"{seconds_shown(wall_seconds(self.seconds))} (wall clock)",
        )

    def close(self) -> None:
        found, self._dir = self._dir, None
        self._copies.clear()
        if found is not None:
            shutil.rmtree(found, ignore_errors=True)
