"""Images as small read-only protocols over any blob source, and the formats that carry them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard._lazy import lazy_exports

if TYPE_CHECKING:
    from dockyard.image._archive_endpoints import ArchiveDestination, ArchiveSource
    from dockyard.image._archive_read import LoadedImage, load_archive
    from dockyard.image._archive_write import ArchiveFormat, ArchiveImage, save_archive
    from dockyard.image._blob_image import BlobImage, BlobIndex, BlobLayer, open_any, reachable
    from dockyard.image._compression_policy import (
        COMPRESSION_NAMES,
        CompressionName,
        CompressionPolicy,
    )
    from dockyard.image._copy import CopyResult, copy
    from dockyard.image._endpoints import ImageDestination, ImageSource, OpenStream
    from dockyard.image._layout import LayoutBlobs, LayoutDestination, LayoutSource
    from dockyard.image._protocols import BlobSource, Image, ImageIndex, Layer
    from dockyard.image._store import StoreSource, open_store_image
    from dockyard.image._store_endpoints import (
        StoreDestination,
        StoreImageSource,
        StoreLayerVariants,
    )
    from dockyard.image._transports import Location, TransportKind, parse_location

__all__ = [
    "COMPRESSION_NAMES",
    "ArchiveDestination",
    "ArchiveFormat",
    "ArchiveImage",
    "ArchiveSource",
    "BlobImage",
    "BlobIndex",
    "BlobLayer",
    "BlobSource",
    "CompressionName",
    "CompressionPolicy",
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
    "StoreLayerVariants",
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

#: Where each public name lives. Submodules load on first use (PEP 562), so a registry copy
#: does not import the archive readers, the local store or the compressors it never touches.
_WHERE = {
    "COMPRESSION_NAMES": "_compression_policy",
    "ArchiveDestination": "_archive_endpoints",
    "ArchiveFormat": "_archive_write",
    "ArchiveImage": "_archive_write",
    "ArchiveSource": "_archive_endpoints",
    "BlobImage": "_blob_image",
    "BlobIndex": "_blob_image",
    "BlobLayer": "_blob_image",
    "BlobSource": "_protocols",
    "CompressionName": "_compression_policy",
    "CompressionPolicy": "_compression_policy",
    "CopyResult": "_copy",
    "Image": "_protocols",
    "ImageDestination": "_endpoints",
    "ImageIndex": "_protocols",
    "ImageSource": "_endpoints",
    "Layer": "_protocols",
    "LayoutBlobs": "_layout",
    "LayoutDestination": "_layout",
    "LayoutSource": "_layout",
    "LoadedImage": "_archive_read",
    "Location": "_transports",
    "OpenStream": "_endpoints",
    "StoreDestination": "_store_endpoints",
    "StoreImageSource": "_store_endpoints",
    "StoreLayerVariants": "_store_endpoints",
    "StoreSource": "_store",
    "TransportKind": "_transports",
    "copy": "_copy",
    "load_archive": "_archive_read",
    "open_any": "_blob_image",
    "open_store_image": "_store",
    "parse_location": "_transports",
    "reachable": "_blob_image",
    "save_archive": "_archive_write",
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
