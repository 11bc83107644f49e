"""Vulnerability scanning in the registry: pushed images are scanned in the background, their
reports served at ``/v2/<name>/_dockyard/scan/<reference>``, and pulls of images with blocked
findings refused (the ``scanning:`` config section)."""

from dockyard.registry.scanning._blobs import RegistryBlobs
from dockyard.registry.scanning._config import ScanningConfig
from dockyard.registry.scanning._images import ScanTarget, scan_target
from dockyard.registry.scanning._policy import Blocking, ScanEnforcement, blocking_findings
from dockyard.registry.scanning._queue import ScanQueue
from dockyard.registry.scanning._records import ScanRecord, ScanRecords
from dockyard.registry.scanning._scanall import ScanAll, scan_all_of
from dockyard.registry.scanning._scanner import Scanner
from dockyard.registry.scanning._service import PolicyChain, ScanningService, start_scanning

__all__ = [
    "Blocking",
    "PolicyChain",
    "RegistryBlobs",
    "ScanAll",
    "ScanEnforcement",
    "ScanQueue",
    "ScanRecord",
    "ScanRecords",
    "ScanTarget",
    "Scanner",
    "ScanningConfig",
    "ScanningService",
    "blocking_findings",
    "scan_all_of",
    "scan_target",
    "start_scanning",
]
