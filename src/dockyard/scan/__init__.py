"""Software bills of materials and vulnerability reports for images, directories and archives."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard._lazy import lazy_exports

if TYPE_CHECKING:
    from dockyard.scan._budget import ScanBudget, ScanLimitExceeded
    from dockyard.scan._filesystem import (
        FileEntry,
        FileView,
        LayerInput,
        walk_directory,
        walk_layers,
    )
    from dockyard.scan._globs import compile_globs
    from dockyard.scan._inventory import Inventory, catalog_source
    from dockyard.scan._matcher import Finding, match_inventory
    from dockyard.scan._package import Distro, Location, Package, purl
    from dockyard.scan._report import SEVERITIES, Report
    from dockyard.scan._source import LayerStep, ScanSource, image_source, open_source
    from dockyard.scan._vulndb import VulnDB

__all__ = [
    "SEVERITIES",
    "Distro",
    "FileEntry",
    "FileView",
    "Finding",
    "Inventory",
    "LayerInput",
    "LayerStep",
    "Location",
    "Package",
    "Report",
    "ScanBudget",
    "ScanLimitExceeded",
    "ScanSource",
    "VulnDB",
    "catalog_source",
    "compile_globs",
    "image_source",
    "match_inventory",
    "open_source",
    "purl",
    "walk_directory",
    "walk_layers",
]

#: Where each public name lives. Submodules load on first use (PEP 562): ``sbom`` never
#: imports the matcher, the version orderings or the database.
_WHERE = {
    "Distro": "_package",
    "FileEntry": "_filesystem",
    "FileView": "_filesystem",
    "Finding": "_matcher",
    "Inventory": "_inventory",
    "LayerInput": "_filesystem",
    "LayerStep": "_source",
    "Location": "_package",
    "Package": "_package",
    "Report": "_report",
    "SEVERITIES": "_report",
    "ScanBudget": "_budget",
    "ScanLimitExceeded": "_budget",
    "ScanSource": "_source",
    "VulnDB": "_vulndb",
    "catalog_source": "_inventory",
    "compile_globs": "_globs",
    "image_source": "_source",
    "match_inventory": "_matcher",
    "open_source": "_source",
    "purl": "_package",
    "walk_directory": "_filesystem",
    "walk_layers": "_filesystem",
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
