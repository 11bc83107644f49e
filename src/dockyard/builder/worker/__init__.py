"""The build worker: root filesystem snapshots, RUN in an OCI runtime, COPY/ADD, layer diffs.

This package exports what every build uses: snapshots, the worker, COPY into a snapshot, path
scoping and user lookup. What only some builds need is imported from its module where it is
used, so that a COPY-only build loads none of it: ``RUN`` (``_run``: ``RunRequest``,
``run_in_snapshot``; ``_mounts``: ``--mount`` types; ``_runtime``: the OCI runtimes; ``_spec``:
the runtime spec), ``ADD <url>`` (``_fetch``: ``add_url``) and upper-dir diffs
(``dockyard.layers.tar_overlay_diff``). ``tests/test_import_budget.py`` holds what a COPY-only build may import.
"""

from dockyard.builder.worker._copy import CopyRequest, copy_into, make_dirs
from dockyard.builder.worker._overlay import overlay_supported
from dockyard.builder.worker._scope import clean_path, resolve_in_root
from dockyard.builder.worker._snapshots import Snapshot, SnapshotManager, WorkSnapshot, chain_id
from dockyard.builder.worker._users import ResolvedUser, resolve_chown, resolve_user
from dockyard.builder.worker._worker import BUILD_DIR, BlobKeeper, Worker

__all__ = [
    "BUILD_DIR",
    "BlobKeeper",
    "CopyRequest",
    "ResolvedUser",
    "Snapshot",
    "SnapshotManager",
    "WorkSnapshot",
    "Worker",
    "chain_id",
    "clean_path",
    "copy_into",
    "make_dirs",
    "overlay_supported",
    "resolve_chown",
    "resolve_in_root",
    "resolve_user",
]
