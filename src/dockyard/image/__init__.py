"""Images as small read-only protocols over any blob source, and the formats that carry them."""

from dockyard.image._archive_read import LoadedImage, load_archive
from dockyard.image._archive_write import ArchiveFormat, ArchiveImage, save_archive
from dockyard.image._blob_image import BlobImage, BlobIndex, BlobLayer, open_any, reachable
from dockyard.image._protocols import BlobSource, Image, ImageIndex, Layer
from dockyard.image._store import StoreSource, open_store_image

__all__ = [
    "ArchiveFormat",
    "ArchiveImage",
    "BlobImage",
    "BlobIndex",
    "BlobLayer",
    "BlobSource",
    "Image",
    "ImageIndex",
    "Layer",
    "LoadedImage",
    "StoreSource",
    "load_archive",
    "open_any",
    "open_store_image",
    "reachable",
    "save_archive",
]
