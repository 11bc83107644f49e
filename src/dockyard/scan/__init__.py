"""Software bills of materials and vulnerability reports for images, directories and archives."""

from dockyard.scan._budget import ScanBudget, ScanLimitExceeded, shown_bytes
from dockyard.scan._dbupdate import FeedResult, update_db
from dockyard.scan._filesystem import (
    FileEntry,
    FileView,
    LayerInput,
    walk_directory,
    walk_layers,
)
from dockyard.scan._globs import compile_globs
from dockyard.scan._importers import read_advisories
from dockyard.scan._inventory import Inventory, catalog_source
from dockyard.scan._matcher import Finding, match_inventory
from dockyard.scan._package import Distro, Location, Package, purl
from dockyard.scan._report import SEVERITIES, Report, parse_severities, read_ignorefile
from dockyard.scan._sbom import SBOM_FORMATS, render_sbom
from dockyard.scan._source import LayerStep, ScanSource, image_source, open_source
from dockyard.scan._vulndb import VulnDB

__all__ = [
    "SBOM_FORMATS",
    "SEVERITIES",
    "Distro",
    "FeedResult",
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
    "parse_severities",
    "purl",
    "read_advisories",
    "read_ignorefile",
    "render_sbom",
    "shown_bytes",
    "update_db",
    "walk_directory",
    "walk_layers",
]
