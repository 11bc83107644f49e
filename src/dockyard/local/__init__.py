"""The local image store: verified blobs, SQL metadata and an OCI layout in one directory.

Names load their module on first use, so that :mod:`dockyard.local.files` (where the store's
files are, read by the no-op rebuild before anything else loads) costs nothing more.
"""

from dockyard._lazy import lazy_exports

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.local._gc import GC_REF_LABEL, GC_ROOT_LABEL, GcResult
    from dockyard.local._layout import REF_NAME
    from dockyard.local._lease import Lease
    from dockyard.local._paths import default_root
    from dockyard.local._store import LocalStore
    from dockyard.metadata import ImageRecord, LeaseRecord, TagRecord

__all__ = [
    "GC_REF_LABEL",
    "GC_ROOT_LABEL",
    "REF_NAME",
    "GcResult",
    "ImageRecord",
    "Lease",
    "LeaseRecord",
    "LocalStore",
    "TagRecord",
    "default_root",
]

_WHERE = {
    "GC_REF_LABEL": "_gc",
    "GC_ROOT_LABEL": "_gc",
    "GcResult": "_gc",
    "ImageRecord": "_store",
    "Lease": "_lease",
    "LeaseRecord": "_store",
    "LocalStore": "_store",
    "REF_NAME": "_layout",
    "TagRecord": "_store",
    "default_root": "_paths",
}

__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
