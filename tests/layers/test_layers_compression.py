from __future__ import annotations

import gzip
import io
import lzma
import os
import subprocess

import pytest
import zstandard

from dockyard.errors import InvalidArgument, Unsupported
from dockyard.layers import Compression, compressor, decompressor, detect

DATA = os.urandom(200_000) + b"\0" * 3_000_000 + b"tail"
KINDS: list[Compression | None] = ["gzip", "zstd", None]


def _compress(kind: Compression | None, data: bytes, level: int | None = None) -> bytes:
    buf = io.BytesIO()
    with compressor(kind, buf, level) as out:
        for i in range(0, len(data), 65536):
            out.write(data[i : i + 65536])
    assert not buf.closed, "closing the compressor must not close its destination"
    return buf.getvalue()


def _read_all(src: io.BytesIO, size: int = 1 << 16) -> bytes:
    reader = decompressor(src)
    chunks = []
    while chunk := reader.read(size):
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_and_detect(kind: Compression | None) -> None:
    packed = _compress(kind, DATA)
    assert detect(packed[:4]) == kind
    if kind is not None:
        assert len(packed) < len(DATA) / 2
    assert _read_all(io.BytesIO(packed)) == DATA


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_output_is_deterministic(kind: Compression) -> None:
    assert _compress(kind, DATA) == _compress(kind, DATA)


def test_gzip_is_readable_by_the_gzip_tool() -> None:
    packed = _compress("gzip", DATA)
    assert gzip.decompress(packed) == DATA
    out = subprocess.run(["gzip", "-dc"], input=packed, capture_output=True, check=True).stdout
    assert out == DATA


def test_zstd_is_readable_by_the_zstd_tool() -> None:
    packed = _compress("zstd", DATA, level=5)
    out = subprocess.run(["zstd", "-dc"], input=packed, capture_output=True, check=True).stdout
    assert out == DATA


def test_reads_what_other_tools_write() -> None:
    gz = subprocess.run(["gzip", "-c"], input=DATA, capture_output=True, check=True).stdout
    zs = subprocess.run(["zstd", "-c"], input=DATA, capture_output=True, check=True).stdout
    assert _read_all(io.BytesIO(gz)) == DATA
    assert _read_all(io.BytesIO(zs)) == DATA


def test_multi_member_gzip_and_multi_frame_zstd() -> None:
    gz = gzip.compress(b"one ") + gzip.compress(b"two")
    cctx = zstandard.ZstdCompressor()
    zs = cctx.compress(b"one ") + cctx.compress(b"two")
    assert _read_all(io.BytesIO(gz)) == b"one two"
    assert _read_all(io.BytesIO(zs)) == b"one two"


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
@pytest.mark.parametrize("cut", [1, 100, 50_000])
def test_truncated_stream_is_an_error(kind: Compression, cut: int) -> None:
    packed = _compress(kind, DATA)
    with pytest.raises(InvalidArgument, match="truncated"):
        _read_all(io.BytesIO(packed[:-cut]))


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_corrupt_stream_is_an_error(kind: Compression) -> None:
    packed = bytearray(_compress(kind, DATA))
    packed[len(packed) // 2] ^= 0xFF
    with pytest.raises(InvalidArgument, match="corrupt"):
        _read_all(io.BytesIO(bytes(packed)))


def test_empty_and_tiny_plain_streams() -> None:
    assert _read_all(io.BytesIO(b"")) == b""
    assert _read_all(io.BytesIO(b"ab")) == b"ab"
    assert detect(b"") is None


def test_xz_is_refused_with_advice() -> None:
    with pytest.raises(Unsupported, match="xz-compressed layers are not supported"):
        decompressor(io.BytesIO(lzma.compress(b"x")))


def test_bad_arguments() -> None:
    with pytest.raises(InvalidArgument, match="gzip level 9"):
        compressor("gzip", io.BytesIO(), 9)
    with pytest.raises(Unsupported, match="unsupported layer compression"):
        compressor("brotli", io.BytesIO())  # type: ignore[arg-type]
