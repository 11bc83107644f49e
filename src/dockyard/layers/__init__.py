"""Layers: compression, making layer tars (whole trees and diffs), storing and applying them.

One tar writer (:class:`LayerTarWriter`) writes every layer; two differs feed it: the two-tree
differ (:func:`tar_diff`, plain directories) and the overlay differ (:func:`tar_overlay_diff`,
an overlayfs upper directory over its lower ones).
"""

from dockyard.layers._apply import ApplyStats, apply_layer
from dockyard.layers._compression import Compression, compressor, decompressor, detect
from dockyard.layers._create import tar_directory
from dockyard.layers._entries import read_xattrs
from dockyard.layers._overlay_diff import is_overlay_whiteout, tar_overlay_diff
from dockyard.layers._tar_writer import LayerTarWriter
from dockyard.layers._tree_diff import tar_diff
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
    "is_overlay_whiteout",
    "media_type_for",
    "read_xattrs",
    "tar_diff",
    "tar_directory",
    "tar_overlay_diff",
    "write_layer",
]
