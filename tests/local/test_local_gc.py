from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from _infra.store_images import BuiltImage, Clock, build_image
from dockyard.digest import Digest
from dockyard.local import GC_REF_LABEL, GC_ROOT_LABEL, LocalStore
from dockyard.oci import Descriptor, Index, Manifest
from dockyard.oci.mediatypes import OCI_EMPTY_JSON, OCI_LAYER_GZIP, OCI_MANIFEST
from dockyard.oci.platform import Platform
from dockyard.reference import Reference

MakeImage = Callable[..., BuiltImage]


def _blobs(store: LocalStore) -> set[Digest]:
    return {d for d, _ in store.content.walk()}


@pytest.fixture
def clocked(tmp_path: Path, clock: Clock) -> Iterator[LocalStore]:
    with LocalStore.open(tmp_path / "clocked", clock=clock) as s:
        yield s


def test_gc_keeps_tagged_and_frees_the_rest(store: LocalStore, make_image: MakeImage) -> None:
    kept, dropped = make_image("kept"), make_image("dropped")
    stray = store.content.put_bytes(b"stray")
    store.set_tag(Reference.parse("busybox:latest"), kept.descriptor)

    sizes = sum(store.content.size(d) for d in dropped.blobs | {stray})
    preview = store.gc(dry_run=True)
    assert preview.dry_run
    assert set(preview.removed) == dropped.blobs | {stray}
    assert _blobs(store) == kept.blobs | dropped.blobs | {stray}  # nothing deleted yet

    result = store.gc()
    assert set(result.removed) == dropped.blobs | {stray}
    assert result.reclaimed == preview.reclaimed == sizes
    assert result.kept == len(kept.blobs)
    assert _blobs(store) == kept.blobs
    assert result.warnings == ()
    assert store.gc().removed == ()


def test_image_records_are_roots_until_removed(store: LocalStore, make_image: MakeImage) -> None:
    image = make_image("dangling")
    store.record_image(image.descriptor.digest, image.config.digest, None)
    assert store.gc().removed == ()
    store.remove_image(image.descriptor.digest)
    assert set(store.gc().removed) == image.blobs


def test_untag_then_gc(store: LocalStore, make_image: MakeImage) -> None:
    image = make_image("a")
    ref = Reference.parse("a:1")
    store.set_tag(ref, image.descriptor)
    store.remove_tag(ref)
    assert set(store.gc().removed) == image.blobs


def test_index_children_subject_and_missing_platforms(
    store: LocalStore, make_image: MakeImage
) -> None:
    amd64, arm64 = make_image("amd64"), make_image("arm64")
    absent = Descriptor.of(b"never pulled", OCI_MANIFEST)
    index = Index.build(
        [
            amd64.manifest.descriptor(Platform("linux", "amd64")),
            arm64.manifest.descriptor(Platform("linux", "arm64")),
            absent,
        ]
    )
    store.content.put_bytes(index.raw)
    store.set_tag(Reference.parse("multi:1"), index.descriptor())

    # a signature-like artifact pointing at the index, kept by its own tag
    empty = Descriptor.of(b"{}", OCI_EMPTY_JSON)
    store.content.put_bytes(b"{}")
    sig_layer = Descriptor.of(b"signature", "application/vnd.dev.cosign.simplesigning.v1+json")
    store.content.put_bytes(b"signature")
    referrer = Manifest.build(empty, [sig_layer], subject=index.descriptor())
    store.content.put_bytes(referrer.raw)
    store.set_tag(Reference.parse("multi:sig"), referrer.descriptor())

    result = store.gc()
    assert result.removed == ()
    assert result.warnings == ()
    assert _blobs(store) == (
        amd64.blobs | arm64.blobs | {index.digest, referrer.digest, empty.digest, sig_layer.digest}
    )

    # the subject alone keeps the index alive
    store.remove_tag(Reference.parse("multi:1"))
    assert store.gc().removed == ()
    store.remove_tag(Reference.parse("multi:sig"))
    everything = _blobs(store)
    assert set(store.gc().removed) == everything
    assert _blobs(store) == set()


def test_foreign_layers_with_urls_are_skipped(store: LocalStore, make_image: MakeImage) -> None:
    base = make_image("base")
    foreign = Descriptor(
        media_type=OCI_LAYER_GZIP,
        digest=Digest.parse("sha256:" + "ab" * 32),
        size=123,
        urls=["https://example.invalid/layer.tar.gz"],
    )
    manifest = Manifest.build(base.config, [foreign, *base.layers])
    store.content.put_bytes(manifest.raw)
    store.set_tag(Reference.parse("win:1"), manifest.descriptor())
    result = store.gc()
    assert result.warnings == ()
    assert set(result.removed) == {base.descriptor.digest}  # only the other manifest


def test_corrupt_tagged_manifest_is_kept_with_a_warning(
    store: LocalStore, make_image: MakeImage
) -> None:
    image = make_image("a")
    store.set_tag(Reference.parse("a:1"), image.descriptor)
    path = store.content.path(image.descriptor.digest)
    path.chmod(0o644)
    path.write_bytes(b"garbage")
    result = store.gc()
    assert image.descriptor.digest not in result.removed
    assert any("cannot read manifest" in w for w in result.warnings)


def test_labels_as_roots_and_references(store: LocalStore, make_image: MakeImage) -> None:
    image = make_image("a")
    cache = store.content.put_bytes(b"build cache entry")
    extra = store.content.put_bytes(b"referenced by label")
    store.set_labels(cache, {GC_ROOT_LABEL: "1", GC_REF_LABEL + "extra": str(extra)})
    store.set_labels(image.descriptor.digest, {GC_REF_LABEL + "bad": "not-a-digest"})
    result = store.gc()
    assert set(result.removed) == image.blobs
    assert _blobs(store) == {cache, extra}


def test_leases_protect_until_released(store: LocalStore) -> None:
    with store.lease() as lease:
        d = lease.put_bytes(b"in flight")
        pre = store.content.put_bytes(b"added by hand")
        lease.add(pre)
        assert {le.id for le in store.leases()} == {lease.id}
        (record,) = store.leases()
        assert set(record.digests) == {d, pre}
        assert store.gc().removed == ()
    assert store.leases() == []
    assert set(store.gc().removed) == {d, pre}


def test_blobs_written_during_a_lease_are_kept(store: LocalStore) -> None:
    with store.lease():
        d = store.content.put_bytes(b"written without lease.add")
        assert store.gc().removed == ()
    assert store.gc().removed == (d,)


def test_expired_leases_stop_protecting(clocked: LocalStore, clock: Clock) -> None:
    with clocked.lease(expires_in=timedelta(seconds=60)) as lease:
        d = lease.put_bytes(b"slow pull")
        old = clocked.content.path(d)
        os.utime(old, (clock.now - 3600, clock.now - 3600))  # written long before the lease
        assert clocked.gc().removed == ()
        clock.now += 61
        result = clocked.gc()
        assert result.leases_expired == 1
        assert result.removed == (d,)


def test_lease_add_renews(clocked: LocalStore, clock: Clock) -> None:
    with clocked.lease(expires_in=timedelta(seconds=100)) as lease:
        clock.now += 60
        lease.add(Digest.parse("sha256:" + "00" * 32))
        clock.now += 60  # past the original expiry
        assert [le.id for le in clocked.leases()] == [lease.id]


def test_lease_ingest_and_writer(store: LocalStore) -> None:
    import io

    with store.lease() as lease:
        d, n = lease.ingest(io.BytesIO(b"streamed"))
        with lease.writer() as w:
            w.write(b"written")
            d2, _ = w.commit()
        again, _ = lease.ingest(io.BytesIO(b"streamed"), expected=d)
        assert again == d and n == 8
        (record,) = store.leases()
        assert set(record.digests) == {d, d2}


def test_stale_ingest_files_are_removed(store: LocalStore) -> None:
    old = store.content.ingest_dir / "blob-abandoned.part"
    old.write_bytes(b"half a layer")
    os.utime(old, (1000, 1000))
    fresh = store.content.ingest_dir / "blob-active.part"
    fresh.write_bytes(b"")
    assert store.gc(dry_run=True).ingests_removed == 1
    assert old.exists()
    assert store.gc().ingests_removed == 1
    assert not old.exists() and fresh.exists()


def test_gc_walks_docker_media_types(store: LocalStore) -> None:
    image = build_image(store.content, "docker")
    raw = json.loads(image.manifest.raw)
    raw["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json"
    raw["config"]["mediaType"] = "application/vnd.docker.container.image.v1+json"
    for layer in raw["layers"]:
        layer["mediaType"] = "application/vnd.docker.image.rootfs.diff.tar"
    docker_raw = json.dumps(raw).encode()
    docker = Manifest.parse(docker_raw)
    store.content.put_bytes(docker_raw)
    store.record_image(docker.digest, docker.config.digest, None)
    assert set(store.gc().removed) == {image.descriptor.digest}
