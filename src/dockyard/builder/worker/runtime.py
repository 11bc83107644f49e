"""Running one process in a root filesystem: the OCI runtimes (crun, runc), the runtime spec
(config.json) and overlay mounts, for the builder's ``RUN`` and for ``dockyard run``.

A public module of its own, so that ``dockyard run`` imports these without the COPY, layer and
Dockerfile code a build loads (the package ``__init__`` loads none of that either).
"""

from dockyard.builder.worker._overlay import mount_overlay, unmount
from dockyard.builder.worker._runtime import (
    RUNTIMES,
    OciRuntime,
    OutputCallback,
    find_runtime,
    installed_runtimes,
)
from dockyard.builder.worker._spec import (
    DEFAULT_CAPABILITIES,
    DEFAULT_PATH,
    Mount,
    NetworkMode,
    ProcessSpec,
    runtime_spec,
)

__all__ = [
    "DEFAULT_CAPABILITIES",
    "DEFAULT_PATH",
    "RUNTIMES",
    "Mount",
    "NetworkMode",
    "OciRuntime",
    "OutputCallback",
    "ProcessSpec",
    "find_runtime",
    "installed_runtimes",
    "mount_overlay",
    "runtime_spec",
    "unmount",
]
