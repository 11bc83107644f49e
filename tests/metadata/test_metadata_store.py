from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.digest import digest_of
from dockyard.errors import FailedPrecondition, InvalidArgument, NotFound
from dockyard.metadata import SCHEMA_VERSION, MetadataStore
from dockyard.oci import Descriptor
from dockyard.oci.mediatypes import OCI_INDEX, OCI_MANIFEST
from dockyard.reference import Reference


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def meta(tmp_path: Path, clock: Clock) -> Iterator[MetadataStore]:
    store = MetadataStore(tmp_path / "dockyard.db", clock=clock)
    yield store
    store.close()


def _desc(data: bytes, media_type: str = OCI_MANIFEST) -> Descriptor:
    return Descriptor(media_type=media_type, digest=digest_of(data), size=len(data))


def test_schema_is_current_and_wal(meta: MetadataStore) -> None:
    assert meta.schema_version == SCHEMA_VERSION
    conn = sqlite3.connect(meta.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_reopen_keeps_data(tmp_path: Path) -> None:
    ref = Reference.parse("busybox:latest")
    first = MetadataStore(tmp_path / "m.db")
    first.set_tag(ref, _desc(b"m"))
    first.close()
    second = MetadataStore(tmp_path / "m.db")
    try:
        record = second.get_tag(ref)
        assert record is not None and record.target == _desc(b"m")
    finally:
        second.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(FailedPrecondition, match="upgrade dockyard"):
        MetadataStore(path)


def test_tags_roundtrip(meta: MetadataStore, clock: Clock) -> None:
    ref = Reference.parse("busybox:latest")
    target = Descriptor(
        media_type=OCI_INDEX,
        digest=digest_of(b"i"),
        size=1,
        annotations={"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
    )
    meta.set_tag(ref, target)
    record = meta.get_tag(ref)
    assert record is not None
    assert record.ref == ref
    assert record.target == target
    assert record.created_at == record.updated_at
    assert record.created_at.timestamp() == clock.now

    clock.now += 10
    meta.set_tag(ref, _desc(b"other"))
    record = meta.get_tag(ref)
    assert record is not None
    assert record.target == _desc(b"other")
    assert record.updated_at.timestamp() - record.created_at.timestamp() == 10


def test_tags_filters_and_order(meta: MetadataStore) -> None:
    a, b = _desc(b"a"), _desc(b"b")
    meta.set_tag(Reference.parse("zeta:1"), a)
    meta.set_tag(Reference.parse("alpha:1"), a)
    meta.set_tag(Reference.parse("alpha:2"), b)
    digest_ref = Reference.parse("alpha").with_digest(b.digest)
    meta.set_tag(digest_ref, b)
    names = [str(t.ref) for t in meta.tags()]
    assert names == sorted(names)
    assert len(names) == 4
    assert {str(t.ref) for t in meta.tags(target=a.digest)} == {
        "docker.io/library/zeta:1",
        "docker.io/library/alpha:1",
    }
    assert {t.ref for t in meta.tags(repository="docker.io/library/alpha")} == {
        Reference.parse("alpha:1"),
        Reference.parse("alpha:2"),
        digest_ref,
    }


def test_remove_tag(meta: MetadataStore) -> None:
    ref = Reference.parse("localhost:5000/a/b:v1")
    meta.set_tag(ref, _desc(b"x"))
    removed = meta.remove_tag(ref)
    assert removed is not None and removed.target == _desc(b"x")
    assert meta.remove_tag(ref) is None
    assert meta.get_tag(ref) is None


def test_images(meta: MetadataStore, clock: Clock) -> None:
    m1, c1 = digest_of(b"m1"), digest_of(b"c1")
    m2 = digest_of(b"m2")
    meta.record_image(m1, c1, "2024-05-01T00:00:00Z")
    clock.now += 1
    meta.record_image(m2, None, None)
    records = meta.images()
    assert [r.manifest_digest for r in records] == [m2, m1]  # newest first
    assert records[1].config_digest == c1
    assert records[1].created == "2024-05-01T00:00:00Z"
    assert records[1].last_used_at is None

    clock.now += 5
    assert meta.touch(m1)
    record = meta.image(m1)
    assert record is not None and record.last_used_at is not None
    assert record.last_used_at.timestamp() == clock.now
    # re-recording keeps the recorded and last-used times
    meta.record_image(m1, c1, "2024-05-01T00:00:00Z")
    again = meta.image(m1)
    assert again == record

    assert not meta.touch(digest_of(b"nothing"))
    assert meta.remove_image(m1)
    assert not meta.remove_image(m1)
    assert meta.image(m1) is None


def test_labels(meta: MetadataStore) -> None:
    d = digest_of(b"img")
    assert meta.labels(d) == {}
    assert meta.set_labels(d, {"b": "2", "a": "1"}) == {"a": "1", "b": "2"}
    assert meta.set_labels(d, {"a": None, "c": "3"}) == {"b": "2", "c": "3"}
    other = digest_of(b"other")
    meta.set_labels(other, {"dockyard.gc.ref.x": str(d)})
    assert meta.labelled("dockyard.gc.ref.") == [(other, "dockyard.gc.ref.x", str(d))]
    with pytest.raises(InvalidArgument):
        meta.set_labels(d, {"": "x"})
    with pytest.raises(InvalidArgument):
        meta.set_labels(d, {"k": "v" * 5000})


def test_remove_image_drops_its_labels(meta: MetadataStore) -> None:
    d = digest_of(b"img")
    meta.record_image(d, None, None)
    meta.set_labels(d, {"k": "v"})
    meta.remove_image(d)
    assert meta.labels(d) == {}


def test_leases(meta: MetadataStore, clock: Clock) -> None:
    lease = meta.create_lease(60, "pull busybox")
    d = digest_of(b"blob")
    meta.add_to_lease(lease.id, d)
    meta.add_to_lease(lease.id, d)  # idempotent
    (live,) = meta.leases()
    assert live.id == lease.id and live.digests == (d,) and live.description == "pull busybox"

    clock.now += 61
    assert meta.leases() == []
    with pytest.raises(NotFound, match="expired"):
        meta.add_to_lease(lease.id, d)
    with pytest.raises(NotFound):
        meta.renew_lease(lease.id, 60)
    assert len(meta.leases(include_expired=True)) == 1
    assert meta.expire_leases() == 1
    assert meta.lease(lease.id) is None


def test_lease_renew_and_release(meta: MetadataStore, clock: Clock) -> None:
    lease = meta.create_lease(10)
    clock.now += 9
    meta.renew_lease(lease.id, 10)
    clock.now += 9
    assert [le.id for le in meta.leases()] == [lease.id]
    meta.add_to_lease(lease.id, digest_of(b"x"))
    meta.release_lease(lease.id)
    assert meta.leases(include_expired=True) == []
    with pytest.raises(InvalidArgument):
        meta.create_lease(-1)


def test_nested_transactions_are_one(meta: MetadataStore) -> None:
    ref = Reference.parse("busybox:1")
    with pytest.raises(RuntimeError), meta.write():
        meta.set_tag(ref, _desc(b"a"))
        meta.record_image(digest_of(b"a"), None, None)
        raise RuntimeError("abort the whole thing")
    assert meta.get_tag(ref) is None
    assert meta.images() == []
    with meta.read(), pytest.raises(RuntimeError, match="cannot nest"), meta.write():
        pass


def test_usable_from_threads(meta: MetadataStore) -> None:
    import threading

    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                meta.set_tag(Reference.parse(f"t{n}:{i}"), _desc(f"{n}-{i}".encode()))
                meta.tags()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(meta.tags()) == 80
