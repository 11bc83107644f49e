"""The S3 driver's read-ahead (``_s3_reader``): bytes exact across window boundaries and at
any offset, what is held ahead bounded by the window, the window growing for a stream, and a
reader closed mid-body leaving nothing running on the driver's loop. Against SeaweedFS, with
windows of a few hundred KiB so a 3 MiB object crosses many of them."""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from _infra.seaweed import Seaweed, create_bucket
from dockyard.registry.storage import S3Config
from dockyard.registry.storage._s3_reader import _PIECE, S3ObjectReader
from dockyard.registry.storage.s3 import S3Driver

KiB, MiB = 1 << 10, 1 << 20
KEY = "blobs/sha256/ab/" + "ab" * 32 + "/data"
_BUCKET = "dockyard-reader"
FIRST, LARGEST = 64 * KiB, 256 * KiB


@pytest.fixture(scope="module")
def stored(seaweed: Seaweed) -> Iterator[tuple[S3Driver, bytes]]:
    """A driver and the 3 MiB (plus a few bytes) of random data stored under ``KEY``."""
    create_bucket(seaweed, _BUCKET)
    config = S3Config(
        bucket=_BUCKET, region=seaweed.region, accesskey=seaweed.access_key,
        secretkey=seaweed.secret_key, regionendpoint=seaweed.endpoint, forcepathstyle=True,
        chunksize=5 * MiB,
    )  # fmt: skip
    driver = S3Driver(dataclasses.replace(config, rootdirectory=f"reader/{uuid.uuid4().hex}"))
    data = os.urandom(3 * MiB + 4321)
    w = driver.writer(KEY)
    try:
        w.write(data)
        w.commit()
    finally:
        w.close()
    yield driver, data
    driver.close()


def _open(driver: S3Driver, offset: int = 0) -> S3ObjectReader:
    """A reader with small windows on ``KEY`` from ``offset`` (one ranged GET, as ``reader``)."""
    name = driver._name(KEY)
    ranged = {"Range": f"bytes={offset}-"} if offset else {}

    async def get(client: Any) -> Any:
        r = await client.get_object(Bucket=driver.config.bucket, Key=name, **ranged)
        return r["Body"]

    body = driver._client.run(get)
    return S3ObjectReader(driver._client, body, read_ahead=LARGEST, first_window=FIRST)


def _read_all(reader: S3ObjectReader, size: int) -> bytes:
    out = bytearray()
    buffer = bytearray(size)
    while n := reader.readinto(buffer):
        out += buffer[:n]
    return bytes(out)


def _wait_until_full(reader: S3ObjectReader) -> None:
    window = reader._window
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with window.cond:
            if window.waiting or window.ended:
                return
        time.sleep(0.005)
    raise AssertionError("the read-ahead neither filled its window nor ended in 10 s")


@pytest.mark.parametrize(
    "offset",
    [0, 1, FIRST - 1, FIRST, FIRST + 1, LARGEST - 7, 2 * LARGEST + 3, 3 * MiB + 4000],
)
@pytest.mark.parametrize("size", [1000, 100_003, 300 * KiB])
def test_reads_of_any_size_from_any_offset_are_the_stored_bytes(
    stored: tuple[S3Driver, bytes], offset: int, size: int
) -> None:
    driver, data = stored
    with _open(driver, offset) as reader:
        assert _read_all(reader, size) == data[offset:]


def test_what_is_read_ahead_stays_within_the_window_which_grows_for_a_stream(
    stored: tuple[S3Driver, bytes],
) -> None:
    driver, data = stored
    with _open(driver) as reader:
        window = reader._window
        _wait_until_full(reader)  # nothing read yet: the first window, and one read over
        assert FIRST <= window.buffered < FIRST + _PIECE
        assert window.limit == FIRST
        got = _read_all_in(reader, 2 * LARGEST)  # a stream: the window doubles up to LARGEST
        assert window.limit == LARGEST
        _wait_until_full(reader)
        assert window.buffered < LARGEST + _PIECE
        got += _read_all(reader, 64 * KiB)
    assert got == data


def _read_all_in(reader: S3ObjectReader, total: int) -> bytes:
    out = bytearray()
    buffer = bytearray(16 * KiB)
    while len(out) < total:
        n = reader.readinto(buffer)
        assert n, "the body ended early"
        out += buffer[:n]
    return bytes(out)


def test_a_short_ranged_read_pulls_about_one_window(stored: tuple[S3Driver, bytes]) -> None:
    """A peek of a few bytes does not stream the whole object into memory."""
    driver, data = stored
    with _open(driver, MiB) as reader:
        buffer = bytearray(10)
        assert reader.readinto(buffer) == 10 and bytes(buffer) == data[MiB : MiB + 10]
        _wait_until_full(reader)
        assert reader._window.buffered < FIRST + _PIECE
        assert reader._window.limit == FIRST


def test_closing_mid_body_stops_the_read_ahead(stored: tuple[S3Driver, bytes]) -> None:
    driver, data = stored
    reader = _open(driver)
    _wait_until_full(reader)
    assert reader.readinto(bytearray(1000)) == 1000
    producer = reader._producer
    assert producer is not None and not producer.done()  # waiting for room
    reader.close()
    deadline = time.monotonic() + 10
    while not producer.done() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert producer.done()
    assert reader._window.buffered == 0
    # the driver's loop and pool serve the next read as before
    with driver.reader(KEY, 5) as f:
        assert f.read() == data[5:]


def test_driver_reader_streams_whole_and_past_the_end(stored: tuple[S3Driver, bytes]) -> None:
    driver, data = stored
    with driver.reader(KEY) as f:
        chunks = []
        while chunk := f.read(MiB + 17):
            chunks.append(chunk)
    assert b"".join(chunks) == data
    with driver.reader(KEY, len(data)) as f:
        assert f.read() == b""
