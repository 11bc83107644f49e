"""Images as small read-only protocols over any blob source, and the formats that carry them.

This package exports the core every image user shares: the protocols (:class:`Image`,
:class:`ImageIndex`, :class:`Layer`, :class:`BlobSource`), the copy endpoints
(:class:`ImageSource`, :class:`ImageDestination`) and the compression policy. The sources,
sinks and verbs have one public module each, imported by what they do, so that a command loads
only the formats it touches (a registry copy no archive or local-store code, a build no copy or
transport code):

- :mod:`~dockyard.image.blob`: images and indexes over any blob source (``BlobImage``,
  ``BlobIndex``, ``BlobLayer``, ``open_any``, ``reachable``);
- :mod:`~dockyard.image.store`: the local store as a blob source and a copy endpoint
  (``StoreSource``, ``open_store_image``, ``StoreImageSource``, ``StoreDestination``);
- :mod:`~dockyard.image.layout`: OCI image layout directories;
- :mod:`~dockyard.image.archive`: docker-archive and oci-archive tars (read, write, endpoints);
- :mod:`~dockyard.image.load`: ``load``, a copy of an archive into the store;
- :mod:`~dockyard.image.copy`: ``copy()``, one function for every source and destination;
- :mod:`~dockyard.image.transports` and :mod:`~dockyard.image.open`: ``docker://``,
  ``oci:``, ``oci-archive:``, ``docker-archive:`` locations and the endpoints they open.
"""

from dockyard.image._compression_policy import COMPRESSION_NAMES, CompressionName, CompressionPolicy
from dockyard.image._endpoints import ImageDestination, ImageSource, OpenStream
from dockyard.image._protocols import BlobSource, Image, ImageIndex, Layer

__all__ = [
    "COMPRESSION_NAMES",
    "BlobSource",
    "CompressionName",
    "CompressionPolicy",
    "Image",
    "ImageDestination",
    "ImageIndex",
    "ImageSource",
    "Layer",
    "OpenStream",
]
