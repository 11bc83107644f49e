"""Several real processes on one store: nothing is corrupted, nothing live is collected."""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path

import pytest

from _infra.store_workers import ROUNDS, collector, leaking_child, writer
from dockyard.local import REF_NAME, LocalStore
from dockyard.oci import parse_manifest_or_index
from dockyard.oci.manifest import Manifest
from dockyard.reference import Reference

pytestmark = pytest.mark.slow


@pytest.mark.slow
def test_two_writers_and_a_collector(tmp_path: Path) -> None:
    root = tmp_path / "store"
    stop = tmp_path / "stop"
    ctx = multiprocessing.get_context("spawn")
    writers = [ctx.Process(target=writer, args=(str(root), n)) for n in ("alpha", "beta")]
    gc_process = ctx.Process(target=collector, args=(str(root), str(stop)))
    for p in [*writers, gc_process]:
        p.start()
    for p in writers:
        p.join(120)
        assert p.exitcode == 0
    stop.touch()
    gc_process.join(60)
    assert gc_process.exitcode == 0

    with LocalStore.open(root) as store:
        names = {str(t.ref) for t in store.tags()}
        expected = {
            str(Reference.parse(f"{n}:{i}")) for n in ("alpha", "beta") for i in range(ROUNDS)
        } | {str(Reference.parse(f"shared:{i}")) for i in range(ROUNDS)}
        assert names == expected
        index = json.loads((root / "index.json").read_bytes())
        assert {m["annotations"][REF_NAME] for m in index["manifests"]} == expected
        for tag in store.tags():
            target = store.resolve(tag.ref)
            manifest = parse_manifest_or_index(store.content.read_bytes(target.digest))
            assert isinstance(manifest, Manifest)
            store.content.read_bytes(manifest.config.digest)
            for layer in manifest.layers:
                with store.content.open(layer.digest, size=layer.size) as f:
                    while f.read(1 << 16):
                        pass
        for digest, _ in store.content.walk():
            store.content.read_bytes(digest)
        assert len(store.images()) == 2 * ROUNDS
        assert list(store.content.ingest_dir.iterdir()) == []
        # the shared blob was unprotected once the leases ended; everything else survives
        store.gc()
        assert store.gc().removed == ()


def test_a_killed_process_lease_expires(tmp_path: Path) -> None:
    root = tmp_path / "store"
    out = tmp_path / "digest"
    LocalStore.open(root).close()
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=leaking_child, args=(str(root), str(out)))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    with LocalStore.open(root) as store:
        assert len(store.leases()) == 1
        assert store.gc().removed == ()
        time.sleep(2.2)
        result = store.gc()
        assert [str(d) for d in result.removed] == [out.read_text()]
        assert result.leases_expired == 1
