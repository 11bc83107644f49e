"""The worker the solver drives: snapshots, RUN, COPY/ADD and layers, over one local store."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from dockyard.builder.worker._scope import clean_path, make_dirs
from dockyard.builder.worker._snapshots import Snapshot, SnapshotManager, WorkSnapshot
from dockyard.builder.worker._users import resolve_chown

if TYPE_CHECKING:  # the rest loads when a step runs (a cached build needs none of it)
    from dockyard.builder.worker._copy import CopyRequest
    from dockyard.builder.worker._run import RunRequest
    from dockyard.builder.worker._runtime import OciRuntime, OutputCallback
    from dockyard.digest import Digest
    from dockyard.layers import Compression, LayerBlob
    from dockyard.local import LocalStore

__all__ = ["BUILD_DIR", "BlobKeeper", "Worker"]


class BlobKeeper(Protocol):
    """What keeps a new layer from gc: a store :class:`~dockyard.local.Lease`, or the like."""

    def add(self, digest: Digest) -> None: ...


#: Where the worker keeps its state inside the store (ignored by OCI layout readers).
BUILD_DIR = "build"


class Worker:
    """Snapshots, runtime and caches under ``<store>/build``.

    Typical step, as the solver does it::

        base = worker.snapshots.from_layers(image.layers())
        with store.lease() as lease, worker.snapshots.writable(base) as work:
            worker.run(work, RunRequest(("/bin/sh", "-c", "make")))
            layer, child = worker.commit(work, lease)
    """

    def __init__(
        self,
        store: LocalStore,
        *,
        runtime: str | None = None,
        overlay: bool | None = None,
    ) -> None:
        self.store = store
        self.root = store.root / BUILD_DIR
        self.snapshots = SnapshotManager(self.root, overlay=overlay)
        # here: builder.cache.checksums imports worker helpers, a cycle at import time
        from dockyard.builder.cache.checksums import ChecksumIndex

        self.checksums = ChecksumIndex(self.root / "checksums.db")
        self.cache_root = self.root / "cache"
        self._runtime_name = runtime
        self._runtime: OciRuntime | None = None

    def close(self) -> None:
        self.checksums.close()

    @property
    def runtime(self) -> OciRuntime:
        """The OCI runtime, found on first use (a build without RUN needs none)."""
        if self._runtime is None:
            from dockyard.builder.worker._runtime import find_runtime

            self._runtime = find_runtime(self.root / "runtime", self._runtime_name)
        return self._runtime

    def run(
        self,
        work: WorkSnapshot,
        request: RunRequest,
        *,
        secrets: Mapping[str, Path] | None = None,
        on_output: OutputCallback | None = None,
    ) -> tuple[str, ...]:
        """Run a RUN step in ``work``; raises RunFailed (exit code + last lines) on failure."""
        from dockyard.builder.worker._run import run_in_snapshot

        return run_in_snapshot(
            work.root,
            request,
            runtime=self.runtime,
            scratch_root=self.root / "bundles",
            cache_root=self.cache_root,
            secrets=secrets,
            on_output=on_output,
        )

    def copy(self, work: WorkSnapshot, source_root: Path, request: CopyRequest) -> None:
        """COPY/ADD from a directory (the context, or a root from :meth:`mounted`)."""
        from dockyard.builder.worker._copy import copy_into

        copy_into(source_root, work.root, request)

    def add_url(
        self,
        work: WorkSnapshot,
        url: str,
        dest: str,
        *,
        cwd: str = "/",
        checksum: str | None = None,
        chown: str | None = None,
    ) -> Digest:
        from dockyard.builder.worker._fetch import add_url

        return add_url(url, work.root, dest, cwd=cwd, checksum=checksum, chown=chown)

    def workdir(self, work: WorkSnapshot, path: str, *, user: str = "") -> None:
        """WORKDIR: create ``path`` (0755, owned by the current USER as BuildKit does)."""

        uid, gid = resolve_chown(work.root, user) if user else (0, 0)
        make_dirs(work.root, clean_path(path), uid, gid)

    @contextlib.contextmanager
    def mounted(self, snapshot: Snapshot) -> Iterator[Path]:
        """A read-only view of ``snapshot`` (COPY --from, RUN --mount=type=bind,from=…)."""
        with self.snapshots.mounted(snapshot) as path:
            yield path

    def commit(
        self,
        work: WorkSnapshot,
        lease: BlobKeeper,
        *,
        compression: Compression | None = "gzip",
        clamp_mtime: int | None = None,
    ) -> tuple[LayerBlob, Snapshot]:
        """Store ``work``'s changes as a layer (kept by ``lease``) and keep the snapshot."""
        layer = work.write_layer(self.store.content, compression, clamp_mtime=clamp_mtime)
        lease.add(layer.digest)
        return layer, work.commit(layer.diff_id)
