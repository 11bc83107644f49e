"""Constants and records shared by the scan tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VULNDB = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "vulndb"
SITE = "usr/local/lib/python3.11/site-packages"


@dataclass(frozen=True)
class TestImage:
    __test__ = False

    store: Path
    ref: str
    tarball: Path | None = None
    rootfs: Path | None = None
