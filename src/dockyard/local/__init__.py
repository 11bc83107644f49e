"""The local image store: verified blobs, SQL metadata and an OCI layout in one directory.

Where its files are and the read-only questions the no-op rebuild asks of them, before anything
else loads, are :mod:`dockyard.storefiles`'s.
"""

from dockyard.local._gc import GcResult
from dockyard.local._labels import GC_REF_LABEL, GC_ROOT_LABEL, PARENT_LABEL
from dockyard.local._layout import REF_NAME
from dockyard.local._lease import Lease
from dockyard.local._paths import default_root
from dockyard.local._store import LocalStore
from dockyard.metadata import ImageRecord, LeaseRecord, TagRecord

__all__ = [
    "GC_REF_LABEL",
    "GC_ROOT_LABEL",
    "PARENT_LABEL",
    "REF_NAME",
    "GcResult",
    "ImageRecord",
    "Lease",
    "LeaseRecord",
    "LocalStore",
    "TagRecord",
    "default_root",
]
