"""dockyard's registry: the OCI distribution API v1.1 over a storage driver and SQL metadata."""

from dockyard.registry._access import can_read
from dockyard.registry._fsck import FsckReport, fsck
from dockyard.registry._gc import GCReport, collect_garbage
from dockyard.registry._registry import BlobHandle, PushedManifest, Registry
from dockyard.registry._server import build_app, serve
from dockyard.registry.http import RegistryApp, Request, ResponseObserver

__all__ = [
    "BlobHandle",
    "FsckReport",
    "GCReport",
    "PushedManifest",
    "Registry",
    "RegistryApp",
    "Request",
    "ResponseObserver",
    "build_app",
    "can_read",
    "collect_garbage",
    "fsck",
    "serve",
]
