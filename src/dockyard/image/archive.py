"""docker-archive and oci-archive tars: one reader (:func:`open_archive`, over the tar access of
``_archive_tar``), the writer (:func:`save_archive`), and both as copy endpoints
(:class:`ArchiveSource`, :class:`ArchiveDestination`). ``load`` (a copy into the store) is
:mod:`dockyard.image.load`."""

from dockyard.image._archive_endpoints import ArchiveDestination, ArchiveSource
from dockyard.image._archive_reader import (
    ArchiveBlobs,
    ArchiveEntry,
    ArchiveImageSource,
    ImageArchive,
    open_archive,
)
from dockyard.image._archive_write import ArchiveFormat, ArchiveImage, save_archive

__all__ = [
    "ArchiveBlobs",
    "ArchiveDestination",
    "ArchiveEntry",
    "ArchiveFormat",
    "ArchiveImage",
    "ArchiveImageSource",
    "ArchiveSource",
    "ImageArchive",
    "open_archive",
    "save_archive",
]
