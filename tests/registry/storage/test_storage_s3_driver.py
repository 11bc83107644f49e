"""What only the S3 driver has: multipart uploads and copies at S3's 5 MiB part size, leftovers
of killed writers, and the store's errors as dockyard's categories. The contract suite
(``test_storage_driver_contract.py``) covers the rest against SeaweedFS."""

from __future__ import annotations

import dataclasses
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from _infra.seaweed import Seaweed, create_bucket
from dockyard.digest import Digest
from dockyard.errors import Unavailable
from dockyard.registry.storage import S3Config, blob_key, upload_data_key, upload_prefix
from dockyard.registry.storage.s3 import S3Driver

MiB = 1 << 20
UPLOAD = "0123456789abcdef0123456789abcdef"
KEY = upload_data_key(UPLOAD)
BLOB = blob_key(Digest.parse("sha256:" + "ef" * 32))
_BUCKET = "dockyard-driver"


@pytest.fixture(scope="module")
def config(seaweed: Seaweed) -> S3Config:
    create_bucket(seaweed, _BUCKET)
    return S3Config(
        bucket=_BUCKET, region=seaweed.region, accesskey=seaweed.access_key,
        secretkey=seaweed.secret_key, regionendpoint=seaweed.endpoint, forcepathstyle=True,
        # S3's smallest parts, so a few MiB exercise every multipart path
        chunksize=5 * MiB, multipartcopythresholdsize=5 * MiB, multipartcopychunksize=5 * MiB,
    )  # fmt: skip


@pytest.fixture
def driver(config: S3Config) -> Iterator[S3Driver]:
    d = S3Driver(dataclasses.replace(config, rootdirectory=f"driver/{uuid.uuid4().hex}"))
    yield d
    d.close()


def _read(driver: S3Driver, key: str, offset: int = 0) -> bytes:
    with driver.reader(key, offset) as f:
        return f.read()


def test_appends_across_requests_carry_the_head_by_part_copies(driver: S3Driver) -> None:
    """Each request (open at the committed size, write, commit, close) leaves one object; a
    head under 5 MiB is read back, a larger one copied in the store; a truncation in the
    middle of a multipart upload keeps exactly the bytes before it."""
    # 3 MiB: one PUT; +3 MiB: the head read back, one part; +1 MiB: the 6 MiB head copied
    first, second, third = os.urandom(3 * MiB), os.urandom(3 * MiB), os.urandom(MiB)
    expected = b""
    for chunk in (first, second, third):
        w = driver.writer(KEY, len(expected))
        try:
            w.write(chunk)
            w.commit()
        finally:
            w.close()
        expected += chunk
        assert _read(driver, KEY) == expected
    w = driver.writer(KEY, len(expected))
    try:
        w.write(os.urandom(6 * MiB))  # the head copied, one part sent, 1 MiB buffered
        w.truncate(len(expected) + 123)  # inside the part already sent
        assert w.size == len(expected) + 123
        w.write(b"tail")
        w.commit()
        kept = _read(driver, KEY, len(expected))
    finally:
        w.close()
    assert len(kept) == 123 + 4 and kept.endswith(b"tail")
    assert _read(driver, KEY, 5 * MiB - 10)[:20] == expected[5 * MiB - 10 : 5 * MiB + 10]


def test_a_large_move_is_a_multipart_copy(driver: S3Driver) -> None:
    data = os.urandom(11 * MiB)  # three copied parts of 5 MiB at most, evenly split
    w = driver.writer(KEY)
    try:
        w.write(data)
    finally:
        w.close()  # close sends what is buffered, as a file's close leaves its bytes
    driver.move(KEY, BLOB)
    assert driver.stat(KEY) is None
    info = driver.stat(BLOB)
    assert info is not None and info.size == len(data)
    with driver.reader(BLOB, 6 * MiB) as f:
        assert f.read(10) == data[6 * MiB : 6 * MiB + 10]  # a ranged, streamed read
        assert f.read() == data[6 * MiB + 10 :]


def test_deleting_an_upload_aborts_a_dead_writer_s_multipart_upload(
    driver: S3Driver, config: S3Config
) -> None:
    """A writer killed after sending a part leaves a multipart upload in the store (invisible,
    but billed); cancelling or finishing the upload deletes its prefix, which aborts it."""
    name = f"{driver.config.rootdirectory}/{KEY}"
    client = _client(driver)
    assert client.run(lambda c: _multipart_keys(c, config.bucket, name)) == []
    client.run(lambda c: c.create_multipart_upload(Bucket=config.bucket, Key=name))
    assert client.run(lambda c: _multipart_keys(c, config.bucket, name)) == [name]
    driver.delete(upload_prefix(UPLOAD))
    assert client.run(lambda c: _multipart_keys(c, config.bucket, name)) == []


def _client(driver: S3Driver) -> Any:
    return driver._client  # the driver's own connection: the same loop and credentials


async def _multipart_keys(client: Any, bucket: str, prefix: str) -> list[str]:
    r = await client.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    return [str(u["Key"]) for u in r.get("Uploads", [])]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"secretkey": "not-the-secret"}, "refused the registry's credentials"),
        ({"bucket": "no-such-bucket"}, "does not exist"),
    ],
)
def test_store_problems_are_unavailable_and_say_what_to_check(
    config: S3Config, change: dict[str, str], words: str
) -> None:
    driver = S3Driver(dataclasses.replace(config, **change))  # type: ignore[arg-type]
    try:
        with pytest.raises(Unavailable) as info:
            driver.stat(BLOB)
        assert words in str(info.value) and info.value.retryable
    finally:
        driver.close()


def test_an_unreachable_store_is_unavailable(config: S3Config) -> None:
    driver = S3Driver(
        dataclasses.replace(config, regionendpoint="http://127.0.0.1:9", maxretries=1)
    )
    try:
        with pytest.raises(Unavailable, match="cannot be reached"):
            driver.stat(BLOB)
    finally:
        driver.close()


def test_no_loop_is_left_running_after_close(config: S3Config) -> None:
    def loops() -> int:
        return sum(t.name == "dockyard-s3" for t in threading.enumerate())

    before = loops()
    driver = S3Driver(config)
    driver.stat(BLOB)
    assert loops() == before + 1
    driver.close()
    assert loops() == before


def _write(driver: S3Driver, key: str, data: bytes) -> None:
    w = driver.writer(key)
    try:
        w.write(data)
        w.commit()
    finally:
        w.close()


def test_a_plain_http_store_gives_a_body_socket_and_its_bytes(driver: S3Driver) -> None:
    """Over plain HTTP the driver opens its own GET (a presigned URL, the response head read
    and nothing more), so the HTTP layer can splice the body to the client."""
    data = os.urandom(2 * MiB + 17)
    _write(driver, BLOB, data)
    sock = driver.body_socket(BLOB, MiB, MiB)
    assert sock is not None
    with sock:
        got = bytearray()
        while len(got) < MiB:
            chunk = sock.recv(MiB - len(got))
            assert chunk
            got += chunk
    assert bytes(got) == data[MiB : 2 * MiB]


def test_a_tls_store_gives_no_body_socket_and_an_unreachable_one_is_unavailable(
    config: S3Config,
) -> None:
    """No socket when the store is spoken to over TLS (the bytes must be decrypted: the
    client's streaming path does it); a store that cannot be reached is Unavailable (503),
    as on the streaming path."""
    driver = S3Driver(dataclasses.replace(config, regionendpoint="https://127.0.0.1:9"))
    try:
        assert driver.body_socket(BLOB, 0, 10) is None
    finally:
        driver.close()
    driver = S3Driver(
        dataclasses.replace(config, regionendpoint="http://127.0.0.1:9", maxretries=1)
    )
    try:
        with pytest.raises(Unavailable, match="cannot be reached"):
            driver.body_socket(BLOB, 0, 10)
    finally:
        driver.close()
