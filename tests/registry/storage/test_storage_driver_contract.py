"""The ``StorageDriver`` contract, run against every driver.

A driver joins by adding a ``DriverCase`` to ``_CASES``: how to open it (twice over the same
storage, as two registry processes share one), and the Python source that opens it in another
process (for the writer lock, which holds across processes). The S3 driver runs against a
real SeaweedFS (one per session, ``conftest.py``), each test under its own root directory of
one bucket.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra.seaweed import Seaweed, create_bucket
from dockyard.digest import Digest
from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.registry.storage import (
    FilesystemDriver,
    FileWriter,
    S3Config,
    StorageDriver,
    blob_key,
    quarantine_key,
    upload_data_key,
    upload_prefix,
)
from dockyard.registry.storage.s3 import S3Driver

UPLOAD = "0123456789abcdef0123456789abcdef"
OTHER_UPLOAD = "fedcba9876543210fedcba9876543210"
KEY = upload_data_key(UPLOAD)
BLOB = blob_key(Digest.parse("sha256:" + "ab" * 32))
OTHER_BLOB = blob_key(Digest.parse("sha256:" + "cd" * 32))


@dataclass(frozen=True, slots=True)
class DriverCase:
    """``open()`` gives a driver over this case's storage (each call a new instance over the
    same bytes); ``child_source`` is Python that binds ``driver`` to one in another process;
    ``lease``: seconds a killed process's writer lock outlives it (0: freed with the process)."""

    open: Callable[[], StorageDriver]
    child_source: str
    lease: float = 0.0


def _filesystem(request: pytest.FixtureRequest, tmp_path: Path) -> DriverCase:
    root = tmp_path / "storage"
    return DriverCase(
        open=lambda: FilesystemDriver(root),
        child_source=(
            "from pathlib import Path\n"
            "from dockyard.registry.storage import FilesystemDriver\n"
            f"driver = FilesystemDriver(Path({str(root)!r}))\n"
        ),
    )


#: the S3 driver's lock time to live in these tests (a killed writer's key is free after it)
_S3_LEASE = 1.5
_S3_BUCKET = "dockyard-contract"


def _s3(request: pytest.FixtureRequest, tmp_path: Path) -> DriverCase:
    seaweed: Seaweed = request.getfixturevalue("seaweed")
    if not request.config.stash.get(_bucket_made, False):
        create_bucket(seaweed, _S3_BUCKET)
        request.config.stash[_bucket_made] = True
    config = S3Config(
        bucket=_S3_BUCKET,
        region=seaweed.region,
        accesskey=seaweed.access_key,
        secretkey=seaweed.secret_key,
        regionendpoint=seaweed.endpoint,
        forcepathstyle=True,
        rootdirectory=f"contract/{uuid.uuid4().hex}",
    )
    opened: list[S3Driver] = []

    def open_driver() -> StorageDriver:
        driver = S3Driver(config, lock_ttl=_S3_LEASE)
        opened.append(driver)
        return driver

    def close_all() -> None:
        for driver in opened:
            driver.close()

    request.addfinalizer(close_all)
    return DriverCase(
        open=open_driver,
        child_source=(
            "from dockyard.registry.storage.s3 import S3Config, S3Driver\n"
            f"driver = S3Driver(S3Config(**{_fields(config)!r}), lock_ttl={_S3_LEASE!r})\n"
        ),
        lease=_S3_LEASE,
    )


def _fields(config: S3Config) -> dict[str, object]:
    return {name: getattr(config, name) for name in S3Config.__dataclass_fields__}


_bucket_made = pytest.StashKey[bool]()
_CASES: dict[str, Callable[[pytest.FixtureRequest, Path], DriverCase]] = {
    "filesystem": _filesystem,
    "s3": _s3,
}


@pytest.fixture(params=sorted(_CASES))
def case(request: pytest.FixtureRequest, tmp_path: Path) -> DriverCase:
    return _CASES[request.param](request, tmp_path)


@pytest.fixture
def driver(case: DriverCase) -> StorageDriver:
    return case.open()


def put(driver: StorageDriver, key: str, data: bytes) -> None:
    w = driver.writer(key)
    try:
        w.write(data)
        w.commit()
    finally:
        w.close()


def get(driver: StorageDriver, key: str, offset: int = 0) -> bytes:
    with driver.reader(key, offset) as f:
        return f.read()


def size(driver: StorageDriver, key: str) -> int:
    info = driver.stat(key)
    assert info is not None, key
    return info.size


# --- reading, writing, stat ----------------------------------------------------------------


def test_written_bytes_read_back(driver: StorageDriver) -> None:
    w = driver.writer(KEY)
    try:
        assert w.size == 0
        assert w.write(b"abc") == 3
        assert w.write(bytearray(b"def")) == 3
        assert w.write(memoryview(b"--ghi--")[2:5]) == 3
        assert w.size == 9
        w.commit()
    finally:
        w.close()
    assert get(driver, KEY) == b"abcdefghi"
    assert get(driver, KEY, 4) == b"efghi"
    assert get(driver, KEY, 9) == b""


def test_stat_gives_size_and_mtime(driver: StorageDriver) -> None:
    before = time.time()
    put(driver, BLOB, b"x" * 1000)
    info = driver.stat(BLOB)
    assert info is not None
    assert (info.key, info.size) == (BLOB, 1000)
    # clocks of a remote store may differ a little: a generous window, not a benchmark
    assert before - 300 <= info.mtime <= time.time() + 300


def test_empty_content(driver: StorageDriver) -> None:
    put(driver, KEY, b"")
    assert size(driver, KEY) == 0
    assert get(driver, KEY) == b""


def test_large_content_in_many_writes(driver: StorageDriver) -> None:
    chunk = bytes(range(256)) * 256  # 64 KiB
    w = driver.writer(BLOB)
    try:
        for _ in range(80):  # 5 MiB, past any single-part limit of an object store
            w.write(chunk)
        w.commit()
    finally:
        w.close()
    assert size(driver, BLOB) == 80 * len(chunk)
    with driver.reader(BLOB, 79 * len(chunk) + 10) as f:
        assert f.read() == chunk[10:]


def test_missing_keys(driver: StorageDriver) -> None:
    with pytest.raises(NotFound):
        driver.reader(BLOB)
    with pytest.raises(NotFound):
        driver.reader(KEY, 5)
    assert driver.stat(BLOB) is None
    assert sorted(driver.list("blobs")) == []
    assert sorted(driver.list(upload_prefix(UPLOAD))) == []
    driver.delete(BLOB)  # not an error
    driver.delete(upload_prefix(UPLOAD))
    with pytest.raises(NotFound):
        driver.move(KEY, BLOB)
    assert driver.stat(BLOB) is None
    assert not driver.trim(KEY, lambda: 0)


def test_a_key_under_a_file_is_missing(driver: StorageDriver) -> None:
    put(driver, KEY, b"data")
    below = f"{KEY}/below"
    assert driver.stat(below) is None
    with pytest.raises(NotFound):
        driver.reader(below)
    driver.delete(below)
    assert get(driver, KEY) == b"data"


@pytest.mark.parametrize(
    "key",
    ["", "/blobs/x", "blobs//x", "../x", "blobs/../../x", "blobs/./x", "blobs/x/", ".", "a\0b"],
)
def test_keys_never_escape_the_store(driver: StorageDriver, key: str) -> None:
    with pytest.raises(InvalidArgument):
        driver.writer(key)
    with pytest.raises(InvalidArgument):
        driver.reader(key)
    with pytest.raises(InvalidArgument):
        driver.stat(key)
    with pytest.raises(InvalidArgument):
        driver.delete(key)
    with pytest.raises(InvalidArgument):
        driver.move(KEY, key)


def test_overwrite_replaces_everything(driver: StorageDriver) -> None:
    put(driver, KEY, b"a long first version")
    put(driver, KEY, b"short")
    assert get(driver, KEY) == b"short"
    assert size(driver, KEY) == 5


def test_writer_at_an_offset_keeps_the_head_and_drops_the_tail(driver: StorageDriver) -> None:
    put(driver, KEY, b"0123456789")
    w = driver.writer(KEY, 4)
    try:
        assert w.size == 4
        assert size(driver, KEY) == 4  # dropped on open, before any write
        w.write(b"ab")
        w.commit()
    finally:
        w.close()
    assert get(driver, KEY) == b"0123ab"


def test_a_new_instance_sees_the_same_bytes(case: DriverCase) -> None:
    first, second = case.open(), case.open()
    put(first, BLOB, b"shared")
    assert get(second, BLOB) == b"shared"
    second.delete(BLOB)
    assert first.stat(BLOB) is None


# --- list, delete, move --------------------------------------------------------------------


def test_list_gives_every_file_under_a_prefix(driver: StorageDriver) -> None:
    put(driver, BLOB, b"1")
    put(driver, OTHER_BLOB, b"2")
    put(driver, KEY, b"3")
    put(driver, upload_data_key(OTHER_UPLOAD), b"4")
    assert sorted(driver.list("blobs")) == sorted([BLOB, OTHER_BLOB])
    assert sorted(driver.list("blobs/sha256")) == sorted([BLOB, OTHER_BLOB])
    assert sorted(driver.list(upload_prefix(UPLOAD))) == [KEY]
    assert sorted(driver.list("uploads")) == sorted([KEY, upload_data_key(OTHER_UPLOAD)])
    assert sorted(driver.list("quarantine")) == []


def test_delete_a_key(driver: StorageDriver) -> None:
    put(driver, BLOB, b"1")
    put(driver, OTHER_BLOB, b"2")
    driver.delete(BLOB)
    assert driver.stat(BLOB) is None
    with pytest.raises(NotFound):
        driver.reader(BLOB)
    assert get(driver, OTHER_BLOB) == b"2"
    assert sorted(driver.list("blobs")) == [OTHER_BLOB]


def test_delete_a_prefix_removes_everything_under_it(driver: StorageDriver) -> None:
    put(driver, KEY, b"1")
    put(driver, f"{upload_prefix(UPLOAD)}/startedat", b"2")
    put(driver, upload_data_key(OTHER_UPLOAD), b"3")
    driver.delete(upload_prefix(UPLOAD))
    assert sorted(driver.list(upload_prefix(UPLOAD))) == []
    assert driver.stat(KEY) is None
    assert sorted(driver.list("uploads")) == [upload_data_key(OTHER_UPLOAD)]


def test_move_puts_the_bytes_at_the_target_and_drops_the_source(driver: StorageDriver) -> None:
    put(driver, KEY, b"uploaded")
    driver.move(KEY, BLOB)
    assert get(driver, BLOB) == b"uploaded"
    assert driver.stat(KEY) is None
    with pytest.raises(NotFound):
        driver.move(KEY, BLOB)  # the source is gone
    assert get(driver, BLOB) == b"uploaded"


def test_move_replaces_the_target(driver: StorageDriver) -> None:
    put(driver, BLOB, b"old bytes, longer")
    put(driver, KEY, b"new")
    driver.move(KEY, BLOB)
    assert get(driver, BLOB) == b"new"
    stamp = "20240101T000000Z-1"
    target = quarantine_key(Digest.parse("sha256:" + "ab" * 32), stamp)
    driver.move(BLOB, target)
    assert get(driver, target) == b"new"
    assert sorted(driver.list("quarantine")) == [target]
    assert sorted(driver.list("blobs")) == []


def test_local_path_when_there_is_one_holds_the_bytes(driver: StorageDriver) -> None:
    put(driver, BLOB, b"zero-copy")
    path = driver.local_path(BLOB)
    if path is not None:
        assert path.read_bytes() == b"zero-copy"


def test_body_socket_when_there_is_one_gives_exactly_the_range(driver: StorageDriver) -> None:
    data = os.urandom(600_000)
    put(driver, BLOB, data)
    for offset, length in ((0, len(data)), (1000, 300_000), (len(data) - 1, 1)):
        sock = driver.body_socket(BLOB, offset, length)
        if sock is None:
            continue
        with sock:
            # the store may keep the connection open after the body: read what was asked
            got = _recv(sock, length)
        assert got == data[offset : offset + length], (offset, length)


def test_body_socket_of_a_missing_key_or_range_is_none(driver: StorageDriver) -> None:
    assert driver.body_socket(OTHER_BLOB, 0, 10) is None
    put(driver, BLOB, b"short")
    assert driver.body_socket(BLOB, 0, 10) is None  # more than there is
    assert driver.body_socket(BLOB, 7, 1) is None


def _recv(sock: socket.socket, count: int) -> bytes:
    sock.settimeout(30)
    chunks = []
    while count:
        chunk = sock.recv(min(count, 1 << 16))
        assert chunk, f"the body ended {count} bytes early"
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


# --- writers: one at a time, partial writes, resume ----------------------------------------


def test_one_writer_per_key(driver: StorageDriver) -> None:
    first = driver.writer(KEY)
    try:
        first.write(b"abc")
        first.commit()  # what a store shows before commit is the driver's own business
        with pytest.raises(Conflict):
            driver.writer(KEY)
        with pytest.raises(Conflict):
            driver.writer(KEY, 3)
        other = driver.writer(upload_data_key(OTHER_UPLOAD))  # another key: no conflict
        other.close()
        assert size(driver, KEY) == 3  # the refused writer dropped nothing
    finally:
        first.close()
    second = driver.writer(KEY, 3)  # free again once closed
    try:
        second.write(b"def")
    finally:
        second.close()
    assert get(driver, KEY) == b"abcdef"


def test_one_writer_per_key_across_instances(case: DriverCase) -> None:
    first, second = case.open(), case.open()
    w = first.writer(KEY)
    try:
        with pytest.raises(Conflict):
            second.writer(KEY)
    finally:
        w.close()
    second.writer(KEY).close()


def _child(case: DriverCase, body: str) -> subprocess.Popen[str]:
    """A Python process that opens the driver, runs ``body``, prints "ready" and waits for a
    line on stdin (or to be killed)."""
    source = f"{case.child_source}\n{body}\nprint('ready', flush=True)\nimport sys\nsys.stdin.readline()\n"
    child = subprocess.Popen(
        [sys.executable, "-c", source],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if line.strip() != "ready":
        child.kill()
        _, err = child.communicate(timeout=30)
        raise AssertionError(f"the child did not get ready: {line!r}\n{err}")
    return child


@pytest.mark.slow
def test_one_writer_per_key_across_processes(case: DriverCase, driver: StorageDriver) -> None:
    child = _child(case, f"w = driver.writer({KEY!r}); w.write(b'from the child')")
    try:
        with pytest.raises(Conflict):
            driver.writer(KEY)
        assert not driver.trim(KEY, lambda: 0)  # the child's writer holds it: nothing dropped
    finally:
        assert child.stdin is not None
        child.stdin.write("\n")
        child.stdin.flush()
        child.communicate(timeout=30)
    assert get(driver, KEY) == b"from the child"
    driver.writer(KEY, size(driver, KEY)).close()


@pytest.mark.slow
def test_a_killed_writer_leaves_its_bytes_and_frees_the_key(
    case: DriverCase, driver: StorageDriver
) -> None:
    """A process dies in the middle of an upload: what it wrote stays for a resume, the key
    is not locked forever, and the resume at the last good offset drops the torn tail."""
    child = _child(
        case, f"w = driver.writer({KEY!r}); w.write(b'good part|'); w.commit(); w.write(b'torn')"
    )
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.stdout is not None and child.stdin is not None
    child.stdout.close()
    child.stdin.close()
    assert child.stderr is not None
    child.stderr.close()
    w = _writer_once_free(driver, KEY, len(b"good part|"), case.lease)
    try:
        w.write(b"rest")
        w.commit()
    finally:
        w.close()
    assert get(driver, KEY) == b"good part|rest"


def _writer_once_free(driver: StorageDriver, key: str, offset: int, lease: float) -> FileWriter:
    """A writer on ``key``, waiting out at most a dead holder's ``lease`` (plus slack for a
    loaded machine) while the key still reads as taken."""
    deadline = time.monotonic() + lease * 2 + 5
    while True:
        try:
            return driver.writer(key, offset)
        except Conflict:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_live_writer_keeps_its_key_past_the_lease(case: DriverCase) -> None:
    """A writer that stays open longer than the lock's time to live is still the only one:
    its lock is renewed while it lives (a takeover only ever follows a dead holder)."""
    first, second = case.open(), case.open()
    w = first.writer(KEY)
    try:
        w.write(b"slow ")
        time.sleep(case.lease * 1.5)
        with pytest.raises(Conflict):
            second.writer(KEY)
        w.write(b"request")
        w.commit()
    finally:
        w.close()
    assert get(second, KEY) == b"slow request"


def test_truncate_drops_a_failed_request_s_bytes(driver: StorageDriver) -> None:
    w = driver.writer(KEY)
    try:
        w.write(b"0123456789")
        w.truncate(6)
        assert w.size == 6
        w.truncate(8)  # beyond the end: nothing to drop
        assert w.size == 6
        w.write(b"ab")
        w.commit()
    finally:
        w.close()
    assert get(driver, KEY) == b"012345ab"


def test_concurrent_writers_never_interleave(driver: StorageDriver) -> None:
    """Threads race to write the key from the start: at most one writer is open at a time,
    the losers get Conflict (and drop nothing: the holder reads back exactly its bytes before
    it lets go) and retry, and the key ends as one writer's bytes, whole."""
    chunks = [bytes([65 + i]) * 5000 for i in range(8)]
    open_now = 0
    most_open = 0
    done: list[bytes] = []
    guard = threading.Lock()
    start = threading.Barrier(len(chunks))
    errors: list[BaseException] = []

    def overwrite(chunk: bytes) -> None:
        nonlocal open_now, most_open
        start.wait(timeout=30)
        for _ in range(3000):  # bounded: gives up after several seconds of Conflicts
            try:
                w = driver.writer(KEY)
            except Conflict:
                time.sleep(0.002)
                continue
            try:
                with guard:
                    open_now += 1
                    most_open = max(most_open, open_now)
                for i in range(0, len(chunk), 1000):
                    w.write(chunk[i : i + 1000])
                    time.sleep(0.001)
                w.commit()
                assert get(driver, KEY) == chunk
                with guard:
                    open_now -= 1
                    done.append(chunk)
            finally:
                w.close()
            return
        raise AssertionError("never got the writer")

    def run(chunk: bytes) -> None:
        try:
            overwrite(chunk)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert most_open == 1
    assert sorted(done) == sorted(chunks)
    assert get(driver, KEY) == done[-1]


# --- trim ----------------------------------------------------------------------------------


def test_trim_drops_bytes_beyond_keep(driver: StorageDriver) -> None:
    put(driver, KEY, b"0123456789")
    asked: list[int] = []

    def keep() -> int:
        asked.append(1)
        return 4

    assert driver.trim(KEY, keep) and asked == [1]
    assert get(driver, KEY) == b"0123"
    assert not driver.trim(KEY, keep)  # nothing beyond 4 any more
    assert not driver.trim(KEY, lambda: None)  # None keeps everything
    assert get(driver, KEY) == b"0123"


def test_trim_leaves_a_key_being_written_alone(driver: StorageDriver) -> None:
    w = driver.writer(KEY)
    asked: list[int] = []

    def keep() -> int:
        asked.append(1)
        return 4

    try:
        w.write(b"0123456789")
        assert not driver.trim(KEY, keep) and asked == []  # a writer has it: not even asked
        w.truncate(6)
    finally:
        w.close()
    assert size(driver, KEY) == 6
    assert driver.trim(KEY, keep) and asked == [1]
    assert size(driver, KEY) == 4


def test_no_writer_opens_while_trim_asks_keep(driver: StorageDriver) -> None:
    """``keep`` runs with writers locked out: a writer opened from inside it is refused (or
    waits until trim is done), never sees the key half-trimmed."""
    put(driver, KEY, b"0123456789")
    seen: list[str] = []

    def keep() -> int:
        try:
            w = driver.writer(KEY, 10)
        except Conflict:
            seen.append("conflict")
        else:
            w.close()
            seen.append("opened")
        return 4

    driver.trim(KEY, keep)
    assert seen == ["conflict"]
    assert get(driver, KEY) == b"0123"


def _iter_keys(driver: StorageDriver) -> Iterator[str]:
    for prefix in ("blobs", "uploads", "quarantine"):
        yield from driver.list(prefix)


def test_nothing_is_left_behind(driver: StorageDriver) -> None:
    """Writers, moves and deletes leave no stray keys (temp files, lock files) under the
    layout's prefixes."""
    put(driver, KEY, b"1")
    driver.move(KEY, BLOB)
    put(driver, KEY, b"2")
    driver.trim(KEY, lambda: 0)
    driver.delete(upload_prefix(UPLOAD))
    assert sorted(_iter_keys(driver)) == [BLOB]
    driver.delete(BLOB)
    assert sorted(_iter_keys(driver)) == []
