from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from dockyard.content import BUFFER_SIZE, ContentStore
from dockyard.digest import Digest, digest_of
from dockyard.errors import BlobUnknown, DigestInvalid, SizeInvalid


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "root")


def test_put_and_read(store: ContentStore) -> None:
    d = store.put_bytes(b"hello")
    assert d == digest_of(b"hello")
    assert store.exists(d)
    assert store.size(d) == 5
    assert store.read_bytes(d) == b"hello"
    assert store.path(d) == store.root / "blobs" / "sha256" / d.hex
    with store.open(d) as f:
        assert f.read() == b"hello"


def test_blob_files_are_read_only(store: ContentStore) -> None:
    d = store.put_bytes(b"x")
    assert store.path(d).stat().st_mode & 0o777 == 0o444


def test_writer_streams_and_commits(store: ContentStore) -> None:
    data = os.urandom(3 * BUFFER_SIZE + 17)
    with store.writer(expected=digest_of(data), size=len(data)) as w:
        for i in range(0, len(data), 100_000):
            w.write(data[i : i + 100_000])
        assert w.written == len(data)
        # nothing is visible before commit
        assert not store.exists(digest_of(data))
        assert w.commit() == (digest_of(data), len(data))
    assert store.read_bytes(digest_of(data)) == data
    assert list(store.ingest_dir.iterdir()) == []


def test_commit_is_idempotent(store: ContentStore) -> None:
    with store.writer() as w:
        w.write(b"abc")
        assert w.commit() == w.commit()


def test_exception_in_block_discards_temp(store: ContentStore) -> None:
    with pytest.raises(RuntimeError), store.writer() as w:
        w.write(b"partial")
        temp = w.temp_path
        assert temp.exists()
        raise RuntimeError("boom")
    assert not temp.exists()
    assert list(store.walk()) == []


def test_no_commit_discards_temp(store: ContentStore) -> None:
    with store.writer() as w:
        w.write(b"never committed")
    assert list(store.ingest_dir.iterdir()) == []
    assert list(store.walk()) == []


def test_digest_mismatch_names_both(store: ContentStore) -> None:
    wrong = digest_of(b"other")
    with pytest.raises(DigestInvalid) as info, store.writer(expected=wrong) as w:
        w.write(b"data")
        w.commit()
    assert str(wrong) in str(info.value)
    assert str(digest_of(b"data")) in str(info.value)
    assert not store.exists(wrong)
    assert list(store.ingest_dir.iterdir()) == []


def test_size_mismatch_short(store: ContentStore) -> None:
    with pytest.raises(SizeInvalid, match="expected 10 bytes, got 4"), store.writer(size=10) as w:
        w.write(b"data")
        w.commit()
    assert list(store.ingest_dir.iterdir()) == []


def test_size_mismatch_long_fails_early(store: ContentStore) -> None:
    with pytest.raises(SizeInvalid, match="larger than the declared 3"), store.writer(size=3) as w:
        w.write(b"data")


def test_commit_overrides(store: ContentStore) -> None:
    with store.writer() as w:
        w.write(b"data")
        with pytest.raises(DigestInvalid):
            w.commit(expected=digest_of(b"nope"))
    with store.writer() as w:
        w.write(b"data")
        assert w.commit(size=4, expected=digest_of(b"data"))[1] == 4


def test_already_exists_is_success(store: ContentStore) -> None:
    d = store.put_bytes(b"same")
    before = store.path(d).stat().st_ino
    assert store.put_bytes(b"same", expected=d) == d
    assert store.path(d).stat().st_ino == before
    assert list(store.ingest_dir.iterdir()) == []


def test_ingest_stream_and_skip_when_present(store: ContentStore) -> None:
    data = os.urandom(BUFFER_SIZE + 5)
    d, n = store.ingest(io.BytesIO(data), expected=digest_of(data), size=len(data))
    assert (d, n) == (digest_of(data), len(data))

    class Exploding(io.RawIOBase):
        def readinto(self, b: object) -> int:
            raise AssertionError("must not be read")

    assert store.ingest(Exploding(), expected=d) == (d, len(data))  # type: ignore[arg-type]


def test_ingest_without_readinto(store: ContentStore) -> None:
    class ReadOnly:
        def __init__(self, data: bytes) -> None:
            self._f = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self._f.read(n)

    d, n = store.ingest(ReadOnly(b"chunks"))  # type: ignore[arg-type]
    assert store.read_bytes(d) == b"chunks" and n == 6


def test_sha512(store: ContentStore) -> None:
    with store.writer(algorithm="sha512") as w:
        w.write(b"x")
        d, _ = w.commit()
    assert d.algorithm == "sha512"
    assert (store.root / "blobs" / "sha512" / d.hex).is_file()
    assert store.read_bytes(d) == b"x"


def _corrupt(store: ContentStore, d: Digest, data: bytes) -> None:
    p = store.path(d)
    p.chmod(0o644)
    p.write_bytes(data)


def test_truncated_blob_raises_at_eof(store: ContentStore) -> None:
    data = os.urandom(2 * BUFFER_SIZE)
    d = store.put_bytes(data)
    _corrupt(store, d, data[: BUFFER_SIZE + 3])
    with store.open(d) as f:
        assert len(f.read(BUFFER_SIZE)) == BUFFER_SIZE
        with pytest.raises(DigestInvalid, match=f"blob {d} is corrupt"):
            f.read()
    size_error = f"blob {d} has {BUFFER_SIZE + 3} bytes"
    with pytest.raises(SizeInvalid, match=size_error), store.open(d, size=len(data)) as f:
        f.read()
    with pytest.raises(DigestInvalid, match="pull or load the image again"):
        store.read_bytes(d)


def test_corrupted_blob_raises(store: ContentStore) -> None:
    data = b"a" * 1000
    d = store.put_bytes(data)
    _corrupt(store, d, b"b" + data[1:])
    with pytest.raises(DigestInvalid, match=str(d)), store.open(d) as f:
        while f.read(100):
            pass
    with pytest.raises(DigestInvalid):
        store.copy_to(d, io.BytesIO())
    # an unverified read is possible on purpose (e.g. to inspect the damage)
    with store.open(d, verify=False) as f:
        assert f.read(1) == b"b"


def test_oversized_blob_raises_size_invalid(store: ContentStore) -> None:
    d = store.put_bytes(b"0123456789")
    with pytest.raises(SizeInvalid, match="larger than the 4 bytes"), store.open(d, size=4) as f:
        f.read()


def test_copy_to(store: ContentStore, tmp_path: Path) -> None:
    data = os.urandom(BUFFER_SIZE * 2 + 1)
    d = store.put_bytes(data)
    out = io.BytesIO()
    assert store.copy_to(d, out) == len(data)
    assert out.getvalue() == data
    target = tmp_path / "out.bin"
    with open(target, "wb") as f:
        f.write(b"head")
        assert store.copy_to(d, f, verify=False) == len(data)  # sendfile
    assert target.read_bytes() == b"head" + data


def test_missing_blob(store: ContentStore) -> None:
    d = digest_of(b"absent")
    assert not store.exists(d)
    for call in (store.size, store.path, store.open, store.read_bytes, store.delete):
        with pytest.raises(BlobUnknown, match=f"blob {d} is not in the local store"):
            call(d)


def test_delete_and_walk(store: ContentStore) -> None:
    a = store.put_bytes(b"a")
    b = store.put_bytes(b"bb")
    (store.blobs_dir / "sha256" / "not-a-digest").write_bytes(b"")
    assert sorted(store.walk()) == sorted([(a, 1), (b, 2)])
    store.delete(a)
    assert list(store.walk()) == [(b, 2)]


def test_read_bytes_limit(store: ContentStore) -> None:
    d = store.put_bytes(b"x" * 100)
    assert store.read_bytes(d, max_size=100) == b"x" * 100
    with pytest.raises(SizeInvalid):
        store.read_bytes(d, max_size=99)


def test_stale_ingests(store: ContentStore) -> None:
    old = store.ingest_dir / "blob-old.part"
    old.write_bytes(b"")
    os.utime(old, (1, 1))
    (store.ingest_dir / "blob-new.part").write_bytes(b"")
    assert store.stale_ingests(3600) == [old]


def test_concurrent_writers_same_content(store: ContentStore) -> None:
    a = store.writer()
    b = store.writer()
    a.write(b"same")
    b.write(b"same")
    assert a.commit() == b.commit()
    assert list(store.ingest_dir.iterdir()) == []
    assert store.read_bytes(digest_of(b"same")) == b"same"
