"""Software bills of materials and vulnerability reports for images, directories and archives."""

from dockyard.scan._filesystem import FileEntry, FileView, LayerInput, walk_directory, walk_layers
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
