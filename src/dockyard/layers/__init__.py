"""Layers: compression, making layer tars (whole trees and diffs), storing and applying them."""

from dockyard.layers._apply import ApplyStats, apply_layer
from dockyard.layers._compression import Compression, compressor, decompressor, detect
from dockyard.layers._create import LayerTarWriter, tar_directory
from dockyard.layers._diff import tar_diff
from dockyard.layers._write import LayerBlob, TarSource, media_type_for, write_layer

__all__ = [
    "ApplyStats",
    "Compression",
    "LayerBlob",
    "LayerTarWriter",
    "TarSource",
    "apply_layer",
    "compressor",
    "decompressor",
    "detect",
    "media_type_for",
    "tar_diff",
    "tar_directory",
    "write_layer",
]
