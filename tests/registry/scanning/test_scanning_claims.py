"""Scans shared by several processes, and the files a scan worker reads, on the chosen backend
(SQLite and files; PostgreSQL and S3 with DOCKYARD_TEST_BACKEND=cluster).

A pending scan is one task of the registry's job queue, claimed by one process of all that ask
at once; a claim whose process died is taken over at once (its owner's liveness lock is free),
not when its lease runs out; a process that lost its claim cannot record a result. Blobs of a driver without local files are streamed into a private directory, checked against
their size, the scan's limits and their digest, and removed after the scan."""

from __future__ import annotations

import gzip
import io
import json
import stat
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from _infra import run_dockyard
from _infra.registry_server import OCI_CONFIG, OCI_LAYER, ASGIClient, descriptor, push_blob
from _infra.registry_server import OCI_MANIFEST as OCI_MANIFEST_TYPE
from _infra.scan_env import VULNDB
from dockyard.digest import Digest
from dockyard.errors import DigestInvalid
from dockyard.oci import Descriptor
from dockyard.registry import Registry
from dockyard.registry.scanning import Scanner, ScanQueue, ScanRecords
from dockyard.registry.scanning._blobfiles import BlobFiles, spill_bound
from dockyard.registry.scanning._queue import LEASE, ScanJobClaim
from dockyard.registry.storage import StorageDriver, blob_key
from dockyard.scan import ScanBudget, ScanLimitExceeded

DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def records(registry: Registry) -> ScanRecords:
    return ScanRecords(registry.meta.db)


@pytest.fixture
def queues(records: ScanRecords) -> Iterator[list[ScanQueue]]:
    """Two processes' queues over one database (each its own owner and liveness lock)."""
    opened = [ScanQueue(records), ScanQueue(records)]
    yield opened
    for q in opened:
        q.close()


def _end(q: ScanQueue, job: ScanJobClaim, error: str | None = None) -> bool:
    return q.finish(job, report_json=None if error else '{"Results": []}', error=error,
                    db_updated_at=None, db_advisories=None, seconds=0.5)  # fmt: skip


def test_a_queued_scan_is_one_task_claimed_by_one_process_and_ended_with_its_report(
    records: ScanRecords, queues: list[ScanQueue]
) -> None:
    first, second = queues
    assert records.queue(DIGEST, "app")
    now = time.time()
    assert not records.queue(DIGEST, "app", again=True)  # pending already: one task
    assert first.counts() == {"Pending": 1}
    (job,) = first.claim(now)
    assert (job.digest, job.repository, job.taken_over, job.run_count) == (DIGEST, "app", False, 0)
    assert second.claim(now + 1) == []  # first holds it, and first lives
    assert second.claim(now + LEASE - 1) == []
    assert first.renew(job, now + 10)
    assert _end(first, job)
    done = records.get(DIGEST)
    assert done is not None and (done.status, done.report) == ("done", {"Results": []})
    assert first.counts() == {}  # the report is the finished scan's record
    assert second.claim(now + 2) == []  # nothing pending
    # asked for again: one new task
    assert records.queue(DIGEST, "app", again=True)
    assert records.get(DIGEST).status == "pending"  # type: ignore[union-attr]
    (again,) = second.claim(time.time())
    assert _end(second, again, error="scan exceeded limits.scanseconds (1 s)")
    failed = records.get(DIGEST)
    assert failed is not None and (failed.status, failed.error) == (
        "failed", "scan exceeded limits.scanseconds (1 s)")  # fmt: skip
    assert first.counts() == {}


def test_a_dead_processs_scan_is_taken_over_at_once_and_its_late_result_refused(
    records: ScanRecords, queues: list[ScanQueue]
) -> None:
    first, second = queues
    assert records.queue(DIGEST, "app")
    now = time.time()
    (held,) = first.claim(now)
    assert second.claim(now + 1) == []
    first.close()  # its liveness lock is free, as when its process dies (kill -9)
    # taken over at the next claim, long before the lease (minutes) runs out
    (taken,) = second.claim(now + 2)
    assert taken.id == held.id and taken.lease != held.lease and taken.taken_over
    assert taken.run_count == 0  # the dead process's attempt is not counted
    assert not first.renew(held, now + 3)
    assert not _end(first, held, error="late")  # not its claim any more: nothing written
    row = records.get(DIGEST)
    assert row is not None and (row.status, row.error) == ("pending", None)
    assert _end(second, taken)
    assert records.get(DIGEST).status == "done"  # type: ignore[union-attr]


def test_a_given_back_scan_is_due_at_once(records: ScanRecords, queues: list[ScanQueue]) -> None:
    first, second = queues
    assert records.queue(DIGEST, "app")
    now = time.time()
    (held,) = first.claim(now)
    first.release([held], now + 1)  # a process stopping cleanly
    (taken,) = second.claim(now + 1)
    assert taken.id == held.id


def test_of_many_processes_claiming_at_once_exactly_one_wins(records: ScanRecords) -> None:
    assert records.queue(DIGEST, "app")
    opened = [ScanQueue(records) for _ in range(8)]
    start = threading.Barrier(8)
    won: list[ScanJobClaim] = []

    def claim(q: ScanQueue) -> None:
        start.wait()
        won.extend(q.claim(time.time()))

    threads = [threading.Thread(target=claim, args=(q,)) for q in opened]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for q in opened:
        q.close()
    assert len(won) == 1 and won[0].digest == DIGEST


def test_a_result_recorded_outside_the_queue_drops_the_queued_task(
    records: ScanRecords, queues: list[ScanQueue]
) -> None:
    assert records.queue(DIGEST, "app")
    records.finish(DIGEST, report={"Results": []}, error=None, db_updated_at=None,
                   db_advisories=None)  # fmt: skip
    assert queues[0].counts() == {}
    assert queues[0].claim(time.time()) == []


# --- the files a scan worker reads -----------------------------------------------------------


class WithoutLocalFiles:
    """The registry's driver as one without local files (S3 is one): what the scan reads of
    it goes through ``reader``, which this counts."""

    def __init__(self, driver: StorageDriver) -> None:
        self.driver = driver
        self.reads = 0

    def reader(self, key: str, offset: int = 0) -> BinaryIO:
        self.reads += 1
        return self.driver.reader(key, offset)

    def local_path(self, key: str) -> Path | None:
        return None


def _store(driver: StorageDriver, data: bytes, digest: str | None = None) -> Descriptor:
    desc = Descriptor(OCI_LAYER, Digest.parse(digest or _sha(data)), len(data))
    writer = driver.writer(blob_key(desc.digest))
    try:
        writer.write(data)
        writer.commit()
    finally:
        writer.close()
    return desc


def _sha(data: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def storage(registry: Registry) -> StorageDriver:
    return registry.storage


def test_blobs_without_local_files_are_verified_copies_removed_after_the_scan(
    storage: StorageDriver,
) -> None:
    data = b"layer bytes " * 10_000
    desc = _store(storage, data)
    driver = WithoutLocalFiles(storage)
    with BlobFiles(driver, ScanBudget(), seconds=60) as files:  # type: ignore[arg-type]
        path = Path(files.path(desc))
        assert files.path(desc) == str(path)  # a layer listed twice is copied once
        assert path.read_bytes() == data and driver.reads == 1
        folder = path.parent
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # private to the registry's user
        assert storage.local_path(blob_key(desc.digest)) != path
    assert not folder.exists()


def test_a_corrupt_stored_blob_never_reaches_the_worker(storage: StorageDriver) -> None:
    good = b"the pushed bytes"
    desc = _store(storage, b"other bytes", _sha(good))  # the digest of other bytes
    with BlobFiles(WithoutLocalFiles(storage), ScanBudget()) as files:  # type: ignore[arg-type]
        with pytest.raises(DigestInvalid, match="does not match its digest"):
            files.path(desc)
        folder = files._dir
        assert folder is not None and list(folder.iterdir()) == [
            folder / f"sha256-{desc.digest.hex}"
        ]
    assert not folder.exists()


def test_blobs_past_the_scan_limits_are_refused_before_they_are_read(
    storage: StorageDriver,
) -> None:
    budget = ScanBudget(layer_bytes=1 << 20, file_bytes=1000)
    driver = WithoutLocalFiles(storage)
    huge = Descriptor(OCI_LAYER, Digest.parse(DIGEST), spill_bound(budget) + 1)
    config = Descriptor(OCI_CONFIG, Digest.parse(DIGEST), 1001)
    with BlobFiles(driver, budget) as files:  # type: ignore[arg-type]
        with pytest.raises(ScanLimitExceeded, match=r"limits\.scanlayerbytes \(1 MiB\)"):
            files.path(huge)
        with pytest.raises(ScanLimitExceeded, match=r"limits\.scanfilebytes"):
            files.path(config, config=True)
    assert driver.reads == 0


# --- two scanners on one database --------------------------------------------------------------


@pytest.fixture(scope="module")
def vulndb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("claims-db")
    run_dockyard("db", "import", VULNDB / "osv" / "crates.io", root=root)
    return root / "vulndb" / "vulndb.sqlite"


def _push(client: ASGIClient, repo: str, seed: str) -> str:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        body = f'ID=debian\nVERSION_ID="12"\n# {seed}\n'.encode()
        info = tarfile.TarInfo("etc/os-release")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    config = json.dumps(
        {"architecture": "amd64", "os": "linux",
         "rootfs": {"type": "layers", "diff_ids": [_sha(raw.getvalue())]}}
    ).encode()  # fmt: skip
    for blob in (config, layer):
        push_blob(client, repo, blob)
    manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST_TYPE,
         "config": descriptor(config, OCI_CONFIG), "layers": [descriptor(layer, OCI_LAYER)]}
    ).encode()  # fmt: skip
    r = client.put(
        f"/v2/{repo}/manifests/1", content=manifest, headers={"content-type": OCI_MANIFEST_TYPE}
    )
    assert r.status_code == 201, r.text
    return _sha(manifest)


def _ended(records: ScanRecords, digest: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        row = records.get(digest)
        if row is not None and row.status != "pending":
            return row
        assert time.monotonic() < deadline, row
        time.sleep(0.05)


@pytest.mark.slow
def test_two_scanners_run_each_scan_once_and_take_over_a_dead_ones(
    registry: Registry, client: ASGIClient, vulndb: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="dockyard.registry.scanning")
    first = Scanner(registry, vulndb, 1, poll=0.1)
    second = Scanner(registry, vulndb, 1, poll=0.1)
    try:
        # queued through one, both claiming: one claim, one scan (an image on this backend)
        digest = _push(client, "app", "once")
        first.start()
        second.start()
        assert first.queue("app", digest)
        row = _ended(first.records, digest)
        assert row.status == "done", row.error
        assert row.report["Metadata"]["OS"] == {"Family": "debian", "Name": "12"}
        assert caplog.text.count(f"scanning app@{digest}") == 1
        assert first.tasks.counts() == {}
        # a scan claimed by a process that then died: taken over by a live scanner at its
        # next poll, though the dead claim's lease runs for minutes
        orphan = _push(client, "app", "orphan")
        dead = ScanQueue(ScanRecords(registry.meta.db))
        assert first.records.queue(orphan, "app")
        claimed = dead.claim(time.time())
        if claimed:  # (a live scanner may have claimed it first: then it simply runs)
            dead.close()
        row = _ended(first.records, orphan, timeout=LEASE / 10)
        assert row.status == "done", row.error
        assert caplog.text.count(f"scanning app@{orphan}") == 1
        if claimed:
            assert f"taking over the scan of app@{orphan}" in caplog.text
    finally:
        first.close()
        second.close()
