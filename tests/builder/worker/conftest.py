"""Fixtures for the build worker: a store, a worker per runtime, a busybox base snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra.worker_helpers import busybox_snapshot
from dockyard.builder.worker import Snapshot, Worker
from dockyard.local import LocalStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    with LocalStore(tmp_path / "store") as s:
        yield s


@pytest.fixture(params=["crun", "runc"])
def worker(request: pytest.FixtureRequest, store: LocalStore) -> Iterator[Worker]:
    """A worker on real overlayfs using the real crun or runc."""
    w = Worker(store, runtime=request.param)
    assert w.snapshots.overlay, "overlayfs must be usable here (root, kernel overlay support)"
    assert w.runtime.name == request.param
    yield w
    w.close()


@pytest.fixture
def base(worker: Worker) -> Snapshot:
    """A committed busybox root filesystem (see _infra.make_busybox_rootfs)."""
    return busybox_snapshot(worker)
