"""The builder's layers have pinned digests: overlay and copying snapshots, and COPY layers.

Build caches and pushed images name layers by digest, so a rebuild must give the same bytes
as before for the same change. Each case makes a tree with every kind of entry (see
``_infra.layer_trees``), changes it through a snapshot or copies it with a COPY request, and
compares the layer's diff_id with the value it has always had.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra.layer_trees import CHANGED_CLAMP, change_tree, make_rich_tree
from _infra.worker_helpers import commit
from dockyard.builder.worker import Worker
from dockyard.builder.worker._copy import CopyRequest
from dockyard.builder.worker._copy_layer import write_copy_layer
from dockyard.local import LocalStore

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, mknod, overlay)")

#: (base layer, changed layer) diff_ids, by snapshot kind
SNAPSHOT_LAYERS = {
    "overlay": (
        "sha256:8e586c3b583480a7d9bbdfbf74bbecf68f03c3fa618503e222a381ce5e84ac17",
        "sha256:5558623418e46b5bd886e872060cc11f68d57ab9cd8102a88490d6edb115064a",
    ),
    "copying": (
        "sha256:8e586c3b583480a7d9bbdfbf74bbecf68f03c3fa618503e222a381ce5e84ac17",
        "sha256:7f927cff4119d7a355708ce23d9d3d25aee4795f66772b4ca136206b9fbb14bc",
    ),
}
#: COPY layers on the overlay base, by request
COPY_LAYERS = {
    "plain": "sha256:f83f4290cf7afe79247e4d27d6445a1780829bf75ed17f40e48c152eb4fa5e04",
    "chown-chmod": "sha256:6deccee5f222bb98541889db1bf403c22ac644a1ad66b16137a767b80ff4a2bb",
    "from-stage": "sha256:8adb0e240dd23f7b976e55f93023e4fb56ef2e85ade49428b0c8700af804eb21",
}
REQUESTS = {
    "plain": CopyRequest(sources=("src/",), dest="/srv/app/"),
    "chown-chmod": CopyRequest(
        sources=("src/bin", "src/etc/hostname"), dest="app/", cwd="/opt", chown="7:8", chmod="640"
    ),
    "from-stage": CopyRequest(sources=("src/home",), dest="/home", preserve_owner=True),
}


@pytest.fixture(autouse=True)
def _umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _worker(store: LocalStore, kind: str) -> Worker:
    worker = Worker(store, overlay=kind == "overlay")
    assert worker.snapshots.overlay == (kind == "overlay")
    return worker


@pytest.mark.parametrize("kind", sorted(SNAPSHOT_LAYERS))
def test_snapshot_layer_digests_are_pinned(store: LocalStore, kind: str) -> None:
    worker = _worker(store, kind)
    try:
        with worker.snapshots.writable(worker.snapshots.scratch()) as work:
            make_rich_tree(work.root)
            base_layer, base = commit(worker, work)
        with worker.snapshots.writable(base) as work:
            change_tree(work.root)
            layer, _ = commit(worker, work, clamp_mtime=CHANGED_CLAMP)
    finally:
        worker.close()
    assert (str(base_layer.diff_id), str(layer.diff_id)) == SNAPSHOT_LAYERS[kind]


@pytest.mark.parametrize("name", sorted(COPY_LAYERS))
def test_copy_layer_digests_are_pinned(store: LocalStore, tmp_path: Path, name: str) -> None:
    context = tmp_path / "context"
    make_rich_tree(context / "src")
    worker = _worker(store, "overlay")
    try:
        with worker.snapshots.writable(worker.snapshots.scratch()) as work:
            make_rich_tree(work.root)
            _, base = commit(worker, work)
        out = io.BytesIO()
        with worker.mounted(base) as view:
            write_copy_layer(view, context, REQUESTS[name], out, clamp_mtime=CHANGED_CLAMP)
    finally:
        worker.close()
    assert "sha256:" + hashlib.sha256(out.getvalue()).hexdigest() == COPY_LAYERS[name]
