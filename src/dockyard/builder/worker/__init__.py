"""The build worker: root filesystem snapshots, RUN in an OCI runtime, COPY/ADD, layer diffs.

This package exports what every build and ``dockyard run`` use: snapshots, the worker, path
scoping and user lookup; none of it loads the COPY, layer or Dockerfile code. What only some
callers need is imported from its module where it is used: the OCI runtimes, the runtime spec
and overlay mounts from the public :mod:`dockyard.builder.worker.runtime` (``RUN`` and
``dockyard run``), and within the builder ``COPY`` (``_copy``: ``CopyRequest``, ``copy_into``;
``_copy_layer``), ``RUN`` (``_run``: ``RunRequest``, ``run_in_snapshot``; ``_mounts``:
``--mount`` types), ``ADD <url>`` (``_fetch``: ``add_url``) and upper-dir diffs
(``dockyard.layers.tar_overlay_diff``). ``tests/test_import_budget.py`` holds what a COPY-only
build and ``dockyard run`` may import.
"""

from dockyard.builder.worker._overlay import overlay_supported
from dockyard.builder.worker._scope import clean_path, make_dirs, resolve_in_root
from dockyard.builder.worker._snapshots import Snapshot, SnapshotManager, WorkSnapshot, chain_id
from dockyard.builder.worker._users import ResolvedUser, resolve_chown, resolve_user
from dockyard.builder.worker._worker import BUILD_DIR, BlobKeeper, Worker

__all__ = [
    "BUILD_DIR",
    "BlobKeeper",
    "ResolvedUser",
    "Snapshot",
    "SnapshotManager",
    "WorkSnapshot",
    "Worker",
    "chain_id",
    "clean_path",
    "make_dirs",
    "overlay_supported",
    "resolve_chown",
    "resolve_in_root",
    "resolve_user",
]
