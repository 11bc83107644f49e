"""What one scan may consume: decompressed bytes per layer, bytes of one file read whole, and
packages catalogued. Going past any of them stops the scan with :class:`ScanLimitExceeded`,
which names the limit and its registry config key (``limits.scanpackages`` …).

The defaults are the registry's (:class:`dockyard.registry.limits.Limits`; a test keeps them
equal); ``dockyard sbom``/``scan`` use them as they are, the registry passes its configured ones.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO

from dockyard.errors import FailedPrecondition

__all__ = ["CappedReader", "ScanBudget", "ScanLimitExceeded", "shown_bytes"]


def shown_bytes(value: int) -> str:
    """``4 GiB``, ``256 MiB``, ``1,000 bytes``: a limit as the limits table spells it."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= size and value % size == 0:
            return f"{value // size} {unit}"
    return f"{value:,} bytes"


class ScanLimitExceeded(FailedPrecondition):
    """A scan went past one of its limits; the message starts ``scan exceeded limits.<key>``."""

    def __init__(self, key: str, limit: str, what: str) -> None:
        super().__init__(
            f"scan exceeded limits.{key} ({limit}): {what}",
            hint="the image is unusually large or hostile; a registry that trusts it can raise "
            f"limits.{key} in its config file",
            detail={"limit": f"limits.{key}", "value": limit},
        )
        self.key = f"limits.{key}"


@dataclass(frozen=True, slots=True)
class ScanBudget:
    """The size limits of one scan (the time and memory limits belong to the process)."""

    #: decompressed bytes read from one layer (``limits.scanlayerbytes``)
    layer_bytes: int = 4 << 30
    #: one file read whole by a cataloger, or one entry of an archive (``limits.scanfilebytes``)
    file_bytes: int = 64 << 20
    #: packages catalogued in one image (``limits.scanpackages``)
    packages: int = 100_000

    def check_file(self, path: str, size: int) -> None:
        if size > self.file_bytes:
            raise ScanLimitExceeded(
                "scanfilebytes", shown_bytes(self.file_bytes), f"{path} is {size:,} bytes"
            )

    def check_packages(self, count: int, where: str = "the image") -> None:
        if count > self.packages:
            raise ScanLimitExceeded(
                "scanpackages", f"{self.packages:,}", f"{where} lists more packages than that"
            )


class CappedReader(io.RawIOBase):
    """Reads ``raw`` (a layer's decompressed tar) and stops past ``budget.layer_bytes``."""

    def __init__(self, raw: IO[bytes], budget: ScanBudget, layer: str) -> None:
        super().__init__()
        self._raw = raw
        self._left = budget.layer_bytes
        self._limit = budget.layer_bytes
        self._layer = layer

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        data = self._raw.read(min(len(view), self._left + 1))
        self._left -= len(data)
        if self._left < 0:
            raise ScanLimitExceeded(
                "scanlayerbytes",
                shown_bytes(self._limit),
                f"layer {self._layer} decompresses to more than that",
            )
        view[: len(data)] = data
        return len(data)
