"""The cataloger protocol: globs for the files it reads, and what it makes of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from dockyard.scan._budget import ScanBudget
from dockyard.scan._filesystem import FileEntry, FileView, ProbeData
from dockyard.scan._package import Distro, Package

__all__ = ["BinaryCataloger", "Cataloger", "Context"]


@dataclass(frozen=True, slots=True)
class Context:
    distro: Distro | None = None
    #: the scan's limits: a cataloger that can find many packages in one file checks
    #: ``budget.packages`` as it goes, and one reading archive entries ``budget.file_bytes``
    budget: ScanBudget = field(default_factory=ScanBudget)


class Cataloger(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def globs(self) -> tuple[str, ...]:
        """Absolute path globs (``**`` spans directories) of the files this cataloger reads."""
        ...

    def catalog(self, view: FileView, context: Context) -> list[Package]: ...


class BinaryCataloger(Protocol):
    """Reads executables as they stream past (they are not kept)."""

    @property
    def name(self) -> str: ...

    def probe(self, entry: FileEntry, data: ProbeData) -> list[Package]: ...
