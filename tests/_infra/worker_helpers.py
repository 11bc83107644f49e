"""Helpers for the build worker tests: committing snapshots, reading layers back."""

from __future__ import annotations

import io
import tarfile

from _infra import make_busybox_rootfs
from dockyard.builder.worker import Snapshot, Worker, WorkSnapshot
from dockyard.layers import LayerBlob, decompressor
from dockyard.local import LocalStore


def commit(worker: Worker, work: WorkSnapshot, **kwargs: object) -> tuple[LayerBlob, Snapshot]:
    with worker.store.lease() as lease:
        return worker.commit(work, lease, **kwargs)  # type: ignore[arg-type]


def busybox_snapshot(worker: Worker) -> Snapshot:
    with worker.snapshots.writable(worker.snapshots.scratch()) as work:
        make_busybox_rootfs(work.root)
        return commit(worker, work, clamp_mtime=1_700_000_000)[1]


def _layer_tar(store: LocalStore, layer: LayerBlob) -> tarfile.TarFile:
    with store.content.open(layer.digest) as f, decompressor(f) as plain:
        data = plain.read()
    return tarfile.open(fileobj=io.BytesIO(data))


def layer_members(store: LocalStore, layer: LayerBlob) -> dict[str, tarfile.TarInfo]:
    with _layer_tar(store, layer) as tar:
        return {m.name: m for m in tar.getmembers()}


def layer_file(store: LocalStore, layer: LayerBlob, name: str) -> bytes:
    with _layer_tar(store, layer) as tar:
        member = tar.extractfile(name)
        assert member is not None
        return member.read()
