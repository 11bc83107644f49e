"""Layer compression: gzip (through ISA-L, much faster than zlib), zstd, or none.

Everything streams: :func:`compressor` wraps a destination for writing, :func:`decompressor`
wraps a source for reading after sniffing its first bytes. Neither closes the stream it wraps.
Corrupt or truncated compressed data raises :class:`~dockyard.errors.InvalidArgument`.
"""

from __future__ import annotations

import gzip
import io
from typing import BinaryIO, Literal, cast

from isal import igzip, isal_zlib

from dockyard.errors import InvalidArgument, Unsupported

__all__ = ["CHUNK_SIZE", "Compression", "compressor", "decompressor", "detect"]

#: How layers are compressed; ``None`` means a plain tar.
Compression = Literal["gzip", "zstd"]

#: Read/write granularity for streaming layer data.
CHUNK_SIZE = 1 << 20

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_OTHER_MAGIC = {b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz"}
#: zstd input fed per call, which bounds the memory a hostile frame can make us allocate.
_ZSTD_INPUT = 16 << 10
#: the stub declares ``isal_zlib.error`` as an instance; it is the module's exception class
_ISAL_ERROR = cast(type[Exception], isal_zlib.error)
_DEFAULT_LEVEL: dict[str, int] = {"gzip": 2, "zstd": 3}


def detect(head: bytes) -> Compression | None:
    """The compression a stream starting with ``head`` uses (gzip, zstd, or ``None``: plain)."""
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    if head.startswith(_ZSTD_MAGIC):
        return "zstd"
    return None


class _Uncloseable(io.RawIOBase):
    """Write-through view of ``dst`` whose ``close()`` leaves ``dst`` open."""

    def __init__(self, dst: BinaryIO) -> None:
        self._dst = dst

    def writable(self) -> bool:
        return True

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._dst.write(b)
        return len(b)

    def flush(self) -> None:
        if not self.closed:
            self._dst.flush()


def compressor(kind: Compression | None, dst: BinaryIO, level: int | None = None) -> BinaryIO:
    """A writable stream that compresses into ``dst``; ``close()`` it to finish the stream.

    Closing the returned stream flushes the compressed trailer but does not close ``dst``.
    Output is deterministic: the gzip header carries no name and mtime 0.
    """
    if kind is None:
        return cast(BinaryIO, _Uncloseable(dst))
    if kind == "gzip":
        lvl = _DEFAULT_LEVEL["gzip"] if level is None else level
        if not 0 <= lvl <= 3:
            raise InvalidArgument(f"gzip level {lvl} is out of range: ISA-L supports 0 to 3")
        return cast(
            BinaryIO,
            igzip.IGzipFile(fileobj=dst, mode="wb", compresslevel=lvl, mtime=0),  # type: ignore[no-untyped-call]
        )
    if kind == "zstd":
        import zstandard  # loaded for zstd layers only

        lvl = _DEFAULT_LEVEL["zstd"] if level is None else level
        writer = zstandard.ZstdCompressor(level=lvl, write_checksum=True).stream_writer(
            dst, closefd=False
        )
        return cast(BinaryIO, writer)
    raise Unsupported(f"unsupported layer compression {kind!r}: use 'gzip', 'zstd' or None")


class _Prefixed(io.RawIOBase):
    """``head`` followed by the rest of ``src``: lets us sniff magic bytes without seeking."""

    def __init__(self, head: bytes, src: BinaryIO) -> None:
        self._head = head
        self._src = src

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(b).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._src.read(len(view))
        view[: len(data)] = data
        return len(data)


class _ZstdReader(io.RawIOBase):
    """Streaming zstd decoder over any number of frames that notices truncation.

    (``zstandard``'s own stream reader silently returns short data for a cut-off frame.)
    """

    def __init__(self, src: BinaryIO) -> None:
        import zstandard  # loaded for zstd layers only

        self._zstd_error = zstandard.ZstdError
        self._src = src
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = self._dctx.decompressobj()
        self._in_frame = False
        self._pending = b""
        self._out = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        while not self._out and not self._eof:
            data = self._pending or self._src.read(_ZSTD_INPUT)
            self._pending = b""
            if not data:
                if self._in_frame:
                    raise InvalidArgument(
                        "zstd stream is truncated: it ends in the middle of a frame; "
                        "the download or file is incomplete — fetch it again"
                    )
                self._eof = True
                return
            self._in_frame = True
            try:
                self._out = self._obj.decompress(data[:_ZSTD_INPUT])
            except self._zstd_error as exc:
                raise InvalidArgument(f"zstd stream is corrupt: {exc}") from None
            rest = data[_ZSTD_INPUT:]
            if self._obj.eof:
                rest = self._obj.unused_data + rest
                self._obj = self._dctx.decompressobj()
                self._in_frame = False
            self._pending = rest

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        self._fill()
        view = memoryview(b).cast("B")
        n = min(len(view), len(self._out))
        view[:n] = self._out[:n]
        self._out = self._out[n:]
        return n


class _GzipReader(io.RawIOBase):
    """ISA-L gzip decoding (all members) with errors turned into dockyard errors."""

    def __init__(self, src: io.RawIOBase) -> None:
        self._gz = igzip.IGzipFile(fileobj=src, mode="rb")  # type: ignore[no-untyped-call]

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            return self._gz.readinto(b)
        except EOFError:
            raise InvalidArgument(
                "gzip stream is truncated: it ends before its end-of-stream marker; "
                "the download or file is incomplete — fetch it again"
            ) from None
        except (gzip.BadGzipFile, _ISAL_ERROR) as exc:
            raise InvalidArgument(f"gzip stream is corrupt: {exc}") from None

    def close(self) -> None:
        self._gz.close()
        super().close()


def decompressor(src: BinaryIO) -> BinaryIO:
    """A readable stream of ``src`` decompressed; the format is sniffed from its magic bytes.

    gzip (any number of members), zstd (any number of frames) and plain data are accepted;
    bzip2 and xz raise :class:`~dockyard.errors.Unsupported`. ``src`` is read strictly forwards
    and is not closed.
    """
    head = b""
    while len(head) < 6:
        more = src.read(6 - len(head))
        if not more:
            break
        head += more
    for magic, name in _OTHER_MAGIC.items():
        if head.startswith(magic):
            raise Unsupported(
                f"{name}-compressed layers are not supported: recompress with gzip or zstd"
            )
    raw = _Prefixed(head, src)
    kind = detect(head)
    reader: io.RawIOBase
    if kind == "gzip":
        reader = _GzipReader(raw)
    elif kind == "zstd":
        reader = _ZstdReader(cast(BinaryIO, raw))
    else:
        reader = raw
    return cast(BinaryIO, io.BufferedReader(reader, CHUNK_SIZE))
