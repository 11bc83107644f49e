"""Slim images: measure layers and waste as dive does, compare images, lint Dockerfiles."""

from dockyard.analyze._advice import Advice, advise
from dockyard.analyze._analysis import Analysis, LayerReport, analyze_image, layer_commands
from dockyard.analyze._ci import DEFAULT_RULES, CiResult, CiRules, evaluate, load_ci_config
from dockyard.analyze._diff import ConfigChange, FileChange, ImageDiff, diff_images
from dockyard.analyze._dive import Inefficiency, build_tree, efficiency
from dockyard.analyze._fs import FsNode, LayerChanges, Removal, apply_layer, new_root, walk
from dockyard.analyze._source import open_image, read_layers
from dockyard.analyze._tarscan import TarEntry, scan_tar

__all__ = [
    "DEFAULT_RULES",
    "Advice",
    "Analysis",
    "CiResult",
    "CiRules",
    "ConfigChange",
    "FileChange",
    "FsNode",
    "ImageDiff",
    "Inefficiency",
    "LayerChanges",
    "LayerReport",
    "Removal",
    "TarEntry",
    "advise",
    "analyze_image",
    "apply_layer",
    "build_tree",
    "diff_images",
    "efficiency",
    "evaluate",
    "layer_commands",
    "load_ci_config",
    "new_root",
    "open_image",
    "read_layers",
    "scan_tar",
    "walk",
]
