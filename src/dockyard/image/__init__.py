"""Images as small read-only protocols over any blob source, and the formats that carry them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard._lazy import lazy_exports

if TYPE_CHECKING:
    from dockyard.image._archive_endpoints import ArchiveDestination, ArchiveSource
    from dockyard.image._archive_load import LoadedImage, load_archive, load_images
    from dockyard.image._archive_reader import (
        ArchiveBlobs,
        ArchiveEntry,
        ArchiveImageSource,
        ImageArchive,
        open_archive,
    )
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
    from dockyard.image._open import RegistryEndpoints, StoreOpener, open_destination, open_source
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
    "ArchiveBlobs",
    "ArchiveDestination",
    "ArchiveEntry",
    "ArchiveFormat",
    "ArchiveImage",
    "ArchiveImageSource",
    "ArchiveSource",
    "BlobImage",
    "BlobIndex",
    "BlobLayer",
    "BlobSource",
    "CompressionName",
    "CompressionPolicy",
    "CopyResult",
    "Image",
    "ImageArchive",
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
    "RegistryEndpoints",
    "StoreDestination",
    "StoreImageSource",
    "StoreLayerVariants",
    "StoreOpener",
    "StoreSource",
    "TransportKind",
    "copy",
    "load_archive",
    "load_images",
    "open_any",
    "open_archive",
    "open_destination",
    "open_source",
    "open_store_image",
    "parse_location",
    "reachable",
    "save_archive",
]

#: Where each public name lives. Submodules load on first use (PEP 562), so a registry copy
#: does not import the archive readers, the local store or the compressors it never touches.
_WHERE = {
    "COMPRESSION_NAMES": "_compression_policy",
    "ArchiveBlobs": "_archive_reader",
    "ArchiveDestination": "_archive_endpoints",
    "ArchiveEntry": "_archive_reader",
    "ArchiveFormat": "_archive_write",
    "ArchiveImage": "_archive_write",
    "ArchiveImageSource": "_archive_reader",
    "ArchiveSource": "_archive_endpoints",
    "BlobImage": "_blob_image",
    "BlobIndex": "_blob_image",
    "BlobLayer": "_blob_image",
    "BlobSource": "_protocols",
    "CompressionName": "_compression_policy",
    "CompressionPolicy": "_compression_policy",
    "CopyResult": "_copy",
    "Image": "_protocols",
    "ImageArchive": "_archive_reader",
    "ImageDestination": "_endpoints",
    "ImageIndex": "_protocols",
    "ImageSource": "_endpoints",
    "Layer": "_protocols",
    "LayoutBlobs": "_layout",
    "LayoutDestination": "_layout",
    "LayoutSource": "_layout",
    "LoadedImage": "_archive_load",
    "Location": "_transports",
    "OpenStream": "_endpoints",
    "RegistryEndpoints": "_open",
    "StoreDestination": "_store_endpoints",
    "StoreImageSource": "_store_endpoints",
    "StoreLayerVariants": "_store_endpoints",
    "StoreOpener": "_open",
    "StoreSource": "_store",
    "TransportKind": "_transports",
    "copy": "_copy",
    "load_archive": "_archive_load",
    "load_images": "_archive_load",
    "open_any": "_blob_image",
    "open_archive": "_archive_reader",
    "open_destination": "_open",
    "open_source": "_open",
    "open_store_image": "_store",
    "parse_location": "_transports",
    "reachable": "_blob_image",
    "save_archive": "_archive_write",
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
