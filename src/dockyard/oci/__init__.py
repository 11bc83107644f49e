"""The OCI/Docker image data model: media types, descriptors, platforms, manifests, configs.

Pure data, no I/O. Parsed objects keep the bytes they were parsed from; digests are over them.
"""

from __future__ import annotations

from dockyard.oci import mediatypes
from dockyard.oci._json import dumps as marshal_json
from dockyard.oci.config import HistoryEntry, ImageConfig
from dockyard.oci.descriptor import EMPTY_JSON, Descriptor
from dockyard.oci.manifest import Index, Manifest, parse_manifest_or_index
from dockyard.oci.platform import Platform

__all__ = [
    "EMPTY_JSON",
    "Descriptor",
    "HistoryEntry",
    "ImageConfig",
    "Index",
    "Manifest",
    "Platform",
    "marshal_json",
    "mediatypes",
    "parse_manifest_or_index",
]
