"""The build worker: root filesystem snapshots, RUN in an OCI runtime, COPY/ADD, layer diffs.

Names load their module on first use (PEP 562), so that a build answered from the cache does
not import the runtime, network or copy code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard._lazy import lazy_exports

if TYPE_CHECKING:
    from dockyard.builder.worker._checksum import ChecksumIndex
    from dockyard.builder.worker._copy import CopyRequest, copy_into, make_dirs
    from dockyard.builder.worker._fetch import add_url
    from dockyard.builder.worker._mounts import (
        BindMount,
        CacheMount,
        RunMount,
        SecretMount,
        TmpfsMount,
    )
    from dockyard.builder.worker._overlay import overlay_supported
    from dockyard.builder.worker._run import RunRequest, run_in_snapshot
    from dockyard.builder.worker._runtime import RUNTIMES, OciRuntime, OutputCallback, find_runtime
    from dockyard.builder.worker._scope import clean_path, resolve_in_root
    from dockyard.builder.worker._snapshots import Snapshot, SnapshotManager, WorkSnapshot, chain_id
    from dockyard.builder.worker._spec import DEFAULT_CAPABILITIES, DEFAULT_PATH, NetworkMode
    from dockyard.builder.worker._upper_diff import write_upper_diff
    from dockyard.builder.worker._users import ResolvedUser, resolve_chown, resolve_user
    from dockyard.builder.worker._worker import BUILD_DIR, BlobKeeper, Worker

_MODULES = {
    "BUILD_DIR": "_worker",
    "BindMount": "_mounts",
    "BlobKeeper": "_worker",
    "CacheMount": "_mounts",
    "ChecksumIndex": "_checksum",
    "CopyRequest": "_copy",
    "DEFAULT_CAPABILITIES": "_spec",
    "DEFAULT_PATH": "_spec",
    "NetworkMode": "_spec",
    "OciRuntime": "_runtime",
    "OutputCallback": "_runtime",
    "RUNTIMES": "_runtime",
    "ResolvedUser": "_users",
    "RunMount": "_mounts",
    "RunRequest": "_run",
    "SecretMount": "_mounts",
    "Snapshot": "_snapshots",
    "SnapshotManager": "_snapshots",
    "TmpfsMount": "_mounts",
    "WorkSnapshot": "_snapshots",
    "Worker": "_worker",
    "add_url": "_fetch",
    "chain_id": "_snapshots",
    "clean_path": "_scope",
    "copy_into": "_copy",
    "find_runtime": "_runtime",
    "make_dirs": "_copy",
    "overlay_supported": "_overlay",
    "resolve_chown": "_users",
    "resolve_in_root": "_scope",
    "resolve_user": "_users",
    "run_in_snapshot": "_run",
    "write_upper_diff": "_upper_diff",
}

__all__ = [
    "BUILD_DIR",
    "DEFAULT_CAPABILITIES",
    "DEFAULT_PATH",
    "RUNTIMES",
    "BindMount",
    "BlobKeeper",
    "CacheMount",
    "ChecksumIndex",
    "CopyRequest",
    "NetworkMode",
    "OciRuntime",
    "OutputCallback",
    "ResolvedUser",
    "RunMount",
    "RunRequest",
    "SecretMount",
    "Snapshot",
    "SnapshotManager",
    "TmpfsMount",
    "WorkSnapshot",
    "Worker",
    "add_url",
    "chain_id",
    "clean_path",
    "copy_into",
    "find_runtime",
    "make_dirs",
    "overlay_supported",
    "resolve_chown",
    "resolve_in_root",
    "resolve_user",
    "run_in_snapshot",
    "write_upper_diff",
]


__getattr__, __dir__ = lazy_exports(__name__, _MODULES, __all__)
