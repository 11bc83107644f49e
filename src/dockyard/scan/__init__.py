"""Software bills of materials and vulnerability reports for images, directories and archives."""

from dockyard.scan._filesystem import FileEntry, FileView, LayerInput, walk_directory, walk_layers
from dockyard.scan._globs import compile_globs
from dockyard.scan._inventory import Inventory, catalog_source
from dockyard.scan._package import Distro, Location, Package, purl
from dockyard.scan._source import LayerStep, ScanSource, open_source

__all__ = [
    "Distro",
    "FileEntry",
    "FileView",
    "Inventory",
    "LayerInput",
    "LayerStep",
    "Location",
    "Package",
    "ScanSource",
    "catalog_source",
    "compile_globs",
    "open_source",
    "purl",
    "walk_directory",
    "walk_layers",
]
