"""Images as small read-only protocols over any blob source, and the formats that carry them."""

from dockyard.image._archive_endpoints import ArchiveDestination, ArchiveSource
from dockyard.image._archive_read import LoadedImage, load_archive
from dockyard.image._archive_write import ArchiveFormat, ArchiveImage, save_archive
from dockyard.image._blob_image import BlobImage, BlobIndex, BlobLayer, open_any, reachable
from dockyard.image._copy import CopyResult, copy
from dockyard.image._endpoints import ImageDestination, ImageSource, OpenStream
from dockyard.image._layout import LayoutBlobs, LayoutDestination, LayoutSource
from dockyard.image._protocols import BlobSource, Image, ImageIndex, Layer
from dockyard.image._store import StoreSource, open_store_image
from dockyard.image._store_endpoints import StoreDestination, StoreImageSource
from dockyard.image._transports import Location, TransportKind, parse_location

__all__ = [
    "ArchiveDestination",
    "ArchiveFormat",
    "ArchiveImage",
    "ArchiveSource",
    "BlobImage",
    "BlobIndex",
    "BlobLayer",
    "BlobSource",
    "CopyResult",
    "Image",
    "ImageDestination",
    "ImageIndex",
    "ImageSource",
    "Layer",
    "LayoutBlobs",
    "LayoutDestination",
    "LayoutSource",
    "LoadedImage",
    "Location",
    "OpenStream",
    "StoreDestination",
    "StoreImageSource",
    "StoreSource",
    "TransportKind",
    "copy",
    "load_archive",
    "open_any",
    "open_store_image",
    "parse_location",
    "reachable",
    "save_archive",
]
