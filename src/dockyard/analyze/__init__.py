"""Slim images: measure layers and waste as dive does, compare images, lint Dockerfiles."""

from dockyard.analyze._analysis import Analysis, LayerReport, analyze_image, layer_commands
from dockyard.analyze._dive import Inefficiency, build_tree, efficiency
from dockyard.analyze._fs import FsNode, LayerChanges, Removal, apply_layer, new_root, walk
from dockyard.analyze._source import open_image, read_layers
from dockyard.analyze._tarscan import TarEntry, scan_tar

__all__ = [
    "Analysis",
    "FsNode",
    "Inefficiency",
    "LayerChanges",
    "LayerReport",
    "Removal",
    "TarEntry",
    "analyze_image",
    "apply_layer",
    "build_tree",
    "efficiency",
    "layer_commands",
    "new_root",
    "open_image",
    "read_layers",
    "scan_tar",
    "walk",
]
