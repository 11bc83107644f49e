"""The build worker: root filesystem snapshots, RUN in an OCI runtime, COPY/ADD, layer diffs."""

from dockyard.build.worker._checksum import ChecksumIndex
from dockyard.build.worker._copy import CopyRequest, copy_into, make_dirs
from dockyard.build.worker._fetch import add_url
from dockyard.build.worker._mounts import BindMount, CacheMount, RunMount, SecretMount, TmpfsMount
from dockyard.build.worker._overlay import overlay_supported
from dockyard.build.worker._run import RunRequest, run_in_snapshot
from dockyard.build.worker._runtime import RUNTIMES, OciRuntime, OutputCallback, find_runtime
from dockyard.build.worker._scope import clean_path, resolve_in_root
from dockyard.build.worker._snapshots import Snapshot, SnapshotManager, WorkSnapshot, chain_id
from dockyard.build.worker._spec import DEFAULT_CAPABILITIES, DEFAULT_PATH, NetworkMode
from dockyard.build.worker._upper_diff import write_upper_diff
from dockyard.build.worker._users import ResolvedUser, resolve_chown, resolve_user
from dockyard.build.worker._worker import BUILD_DIR, Worker

__all__ = [
    "BUILD_DIR",
    "DEFAULT_CAPABILITIES",
    "DEFAULT_PATH",
    "RUNTIMES",
    "BindMount",
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
