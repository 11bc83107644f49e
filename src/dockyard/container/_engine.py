"""The builder's runtime pieces that ``dockyard run`` uses, imported in one place.

TODO(public): ``dockyard.builder.worker`` exports none of these yet; once it exports
``OciRuntime``, ``find_runtime``, ``Mount``, ``ProcessSpec``, ``runtime_spec``, ``DEFAULT_PATH``,
``mount_overlay`` and ``unmount``, import them from the package and drop this module.
"""

from __future__ import annotations

from dockyard.builder.worker._overlay import mount_overlay, unmount
from dockyard.builder.worker._runtime import OciRuntime, find_runtime
from dockyard.builder.worker._spec import DEFAULT_PATH, Mount, ProcessSpec, runtime_spec

__all__ = [
    "DEFAULT_PATH",
    "Mount",
    "OciRuntime",
    "ProcessSpec",
    "find_runtime",
    "mount_overlay",
    "runtime_spec",
    "unmount",
]
