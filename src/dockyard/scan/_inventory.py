"""Cataloguing a source: one pass over its files, every cataloger, one package list."""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.scan._budget import ScanBudget
from dockyard.scan._filesystem import (
    FileEntry,
    FileView,
    ProbeData,
    walk_directory,
    walk_layers,
)
from dockyard.scan._globs import compile_globs
from dockyard.scan._package import Distro, Package
from dockyard.scan._source import LayerStep, ScanSource
from dockyard.scan.catalog import (
    OS_RELEASE_GLOBS,
    OWNERSHIP_GLOBS,
    ApkCataloger,
    BinaryCataloger,
    BinaryClassifierCataloger,
    CargoAuditableCataloger,
    CargoLockCataloger,
    Cataloger,
    Context,
    DpkgCataloger,
    GemspecCataloger,
    GoBinaryCataloger,
    JavaCataloger,
    JvmReleaseCataloger,
    NpmCataloger,
    PythonCataloger,
    RpmCataloger,
    drop_owned_binaries,
    find_distro,
)

__all__ = ["Inventory", "catalog_source"]


def default_catalogers() -> list[Cataloger]:
    return [
        DpkgCataloger(),
        ApkCataloger(),
        RpmCataloger(),
        PythonCataloger(),
        NpmCataloger(),
        JavaCataloger(),
        JvmReleaseCataloger(),
        GemspecCataloger(),
        CargoLockCataloger(),
    ]


def default_binary_catalogers() -> list[BinaryCataloger]:
    return [GoBinaryCataloger(), CargoAuditableCataloger(), BinaryClassifierCataloger()]


@dataclass
class Inventory:
    """What is in a source: its distribution and packages, and where it came from."""

    source: ScanSource
    distro: Distro | None
    packages: list[Package] = field(default_factory=list)

    @property
    def steps(self) -> dict[str, LayerStep]:
        return {s.diff_id: s for s in self.source.steps}


def catalog_source(
    source: ScanSource,
    catalogers: list[Cataloger] | None = None,
    binary: list[BinaryCataloger] | None = None,
    budget: ScanBudget | None = None,
) -> Inventory:
    """Every package in ``source``, within ``budget`` (default: the registry's default limits);
    past a limit, :class:`~dockyard.scan.ScanLimitExceeded` names it."""
    budget = ScanBudget() if budget is None else budget
    catalogers = default_catalogers() if catalogers is None else catalogers
    binary = default_binary_catalogers() if binary is None else binary
    globs = [*OS_RELEASE_GLOBS, *(g for c in catalogers for g in c.globs)]
    keep = compile_globs([*globs, *OWNERSHIP_GLOBS] if binary else globs)
    found: list[Package] = []

    def probe(entry: FileEntry, data: ProbeData) -> None:
        for cataloger in binary:
            found.extend(cataloger.probe(entry, data))
        budget.check_packages(len(found))

    view: FileView
    if source.directory is not None:
        view = walk_directory(source.directory, keep, probe if binary else None, budget)
    else:
        view = walk_layers(source.layers, keep, probe if binary else None, budget)
    try:
        distro = find_distro(view)
        context = Context(distro, budget)
        packages: list[Package] = list(found)
        for cataloger in catalogers:
            packages.extend(cataloger.catalog(view, context))
            budget.check_packages(len(packages))
        packages = drop_owned_binaries(packages, view)  # as syft: the OS package's record
    finally:
        view.close()
    packages.sort(
        key=lambda p: (
            p.type,
            p.name.lower(),
            p.version,
            p.locations[0].path if p.locations else "",
        )
    )
    return Inventory(source, distro, packages)
