"""Scans shared by several processes, and the files a scan worker reads, on the chosen backend
(SQLite and files; PostgreSQL and S3 with DOCKYARD_TEST_BACKEND=cluster).

A pending scan is claimed by one process of all that ask at once; a claim whose process stopped
renewing it runs out and is taken over; a process that lost its claim cannot record a result.
Blobs of a driver without local files are streamed into a private directory, checked against
their size, the scan's limits and their digest, and removed after the scan."""

from __future__ import annotations

import gzip
import io
import json
import stat
import tarfile
import threading
import time
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
from dockyard.registry.scanning import Scanner, ScanRecords
from dockyard.registry.scanning._blobfiles import BlobFiles, spill_bound
from dockyard.registry.storage import StorageDriver, blob_key
from dockyard.scan import ScanBudget, ScanLimitExceeded

DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def records(registry: Registry) -> ScanRecords:
    return ScanRecords(registry.meta.db)


def test_a_pending_scan_is_claimed_by_one_owner_until_its_lease_runs_out(
    records: ScanRecords,
) -> None:
    assert records.queue(DIGEST, "app")
    assert records.due(1000.0) == [(DIGEST, "app")]
    assert records.claim(DIGEST, "a", 10, now=1000.0) == 1  # the first claim
    assert not records.claim(DIGEST, "b", 10, now=1005.0)  # a holds it
    assert records.due(1005.0) == []
    assert records.renew([DIGEST], "a", 10, now=1008.0) == []  # a's lease: until 1018
    assert not records.claim(DIGEST, "b", 10, now=1015.0)
    # a stopped renewing (it died): once the lease ran out, b takes the scan over
    assert records.due(1019.0) == [(DIGEST, "app")]
    assert records.claim(DIGEST, "b", 10, now=1019.0) == 2
    assert records.renew([DIGEST], "a", 10, now=1020.0) == [DIGEST]  # a lost it
    taken = records.get(DIGEST)
    assert taken is not None
    assert (taken.status, taken.lease_owner, taken.attempts) == ("pending", "b", 2)
    # a's late result is refused; b's is recorded and ends the lease
    assert not records.finish(
        DIGEST, error="late", db_updated_at=None, db_advisories=None, owner="a"
    )
    assert records.finish(DIGEST, report={"Results": []}, error=None, db_updated_at=None,
                          db_advisories=None, owner="b")  # fmt: skip
    done = records.get(DIGEST)
    assert done is not None and (done.status, done.lease_owner, done.report) == (
        "done",
        None,
        {"Results": []},
    )
    assert not records.claim(DIGEST, "c", 10, now=2000.0)  # nothing pending
    # a scan asked for again starts its count afresh
    assert records.queue(DIGEST, "app", again=True)
    again = records.get(DIGEST)
    assert again is not None and (again.status, again.attempts) == ("pending", 0)
    assert not records.queue(DIGEST, "app", again=True)  # pending already


def test_a_released_claim_is_due_at_once(records: ScanRecords) -> None:
    assert records.queue(DIGEST, "app")
    assert records.claim(DIGEST, "a", 60, now=1000.0)
    records.release(DIGEST, "b")  # not b's to give back
    assert records.due(1001.0) == []
    records.release(DIGEST, "a")
    assert records.due(1001.0) == [(DIGEST, "app")]


def test_of_many_owners_claiming_at_once_exactly_one_wins(records: ScanRecords) -> None:
    assert records.queue(DIGEST, "app")
    start = threading.Barrier(8)
    won: list[str] = []

    def claim(owner: str) -> None:
        start.wait()
        if records.claim(DIGEST, owner, 60, now=1000.0):
            won.append(owner)

    threads = [threading.Thread(target=claim, args=(f"o{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    row = records.get(DIGEST)
    assert row is not None and (row.lease_owner, row.attempts) == (won[0], 1)


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
def test_sweeping_scanners_run_each_scan_once_and_take_over_a_dead_ones(
    registry: Registry, client: ASGIClient, vulndb: Path
) -> None:
    first = Scanner(registry, vulndb, 1, lease=1)
    second = Scanner(registry, vulndb, 1, lease=1)
    try:
        # queued through one, both sweeping: one claim, one scan (an image on this backend)
        digest = _push(client, "app", "once")
        assert first.queue("app", digest)
        first.start(sweep=True)
        second.start(sweep=True)
        row = _ended(first.records, digest)
        assert (row.status, row.attempts, row.lease_owner) == ("done", 1, None), row.error
        assert row.report["Metadata"]["OS"] == {"Family": "debian", "Name": "12"}
        # a scan claimed by a process that died: taken over when its lease runs out
        orphan = _push(client, "app", "orphan")
        assert first.records.queue(orphan, "app")
        assert first.records.claim(orphan, "dead:1:x", 1, now=time.time())
        row = _ended(first.records, orphan, timeout=30)
        assert (row.status, row.attempts) == ("done", 2), row.error
    finally:
        first.close()
        second.close()
