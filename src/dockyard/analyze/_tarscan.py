"""A fast, streaming reader of layer tar headers: names, types, sizes — never file contents.

Layers are read forwards once; file data is skipped (but still read, so the verifying blob
reader underneath checks the digest). GNU long names and PAX headers are understood, as Go's
``archive/tar`` (which dive uses) understands them.
"""

from __future__ import annotations

import hashlib
import posixpath
from typing import BinaryIO, NamedTuple

from dockyard.errors import InvalidArgument

__all__ = ["TarEntry", "scan_tar"]

_BLOCK = 512
_CHUNK = 1 << 20
_ZERO = bytes(_BLOCK)
# entries whose data area is empty whatever their size field says (Go's isHeaderOnlyType)
_HEADER_ONLY = frozenset("123456")
DIRECTORY = "5"
REGULAR = "0"
HARDLINK = "1"
SYMLINK = "2"


class TarEntry(NamedTuple):
    """One member of a layer tar, as a layer diff sees it."""

    path: str  # cleaned, relative: "usr/bin/env"
    kind: str  # the tar type flag: "0" file, "1" hard link, "2" symlink, "5" directory, ...
    size: int  # the header's size (what dive counts)
    mode: int  # permission bits
    uid: int
    gid: int
    linkname: str
    is_dir: bool
    digest: str | None  # sha256 of the contents when asked for, else None


def _number(field: bytes) -> int:
    if field and field[0] & 0x80:  # GNU base-256
        value = field[0] & 0x7F
        for byte in field[1:]:
            value = (value << 8) | byte
        return value
    text = field.split(b"\0", 1)[0].strip(b" ")
    return int(text, 8) if text else 0


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _clean(name: str) -> str:
    if name.startswith("./"):
        name = name[2:]
    name = name.strip("/")
    if "//" in name or "/." in name or (name.startswith(".") and name[:2] in ("..", "./")):
        name = posixpath.normpath("/" + name).lstrip("/")
    if name == ".":
        return ""
    return name


def _pax(data: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        length = int(data[pos:space])
        if length <= 0:
            break
        record = data[space + 1 : pos + length - 1]
        key, _, value = record.partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


class _Stream:
    """Buffered forward reader with cheap skipping."""

    __slots__ = ("buf", "end", "pos", "seekable", "src")

    def __init__(self, src: BinaryIO, seekable: bool = False) -> None:
        self.src = src
        self.buf = b""
        self.pos = 0
        self.end = 0
        self.seekable = seekable

    def block(self) -> bytes:
        if self.end - self.pos < _BLOCK:
            rest = self.buf[self.pos : self.end]
            more = self.src.read(_CHUNK)
            self.buf = rest + more if more else rest
            self.pos = 0
            self.end = len(self.buf)
            if self.end < _BLOCK:
                return self.buf
        start = self.pos
        self.pos += _BLOCK
        return self.buf[start : self.pos]

    def read(self, n: int) -> bytes:
        parts: list[bytes] = []
        while n > 0:
            if self.pos >= self.end:
                self.buf = self.src.read(_CHUNK)
                self.pos = 0
                self.end = len(self.buf)
                if not self.buf:
                    raise InvalidArgument("layer tar is truncated: a file's data ends early")
            take = min(n, self.end - self.pos)
            parts.append(self.buf[self.pos : self.pos + take])
            self.pos += take
            n -= take
        return b"".join(parts)

    def skip(self, n: int, hasher: hashlib._Hash | None = None) -> None:
        left = self.end - self.pos
        if n <= left:
            if hasher is not None:
                hasher.update(memoryview(self.buf)[self.pos : self.pos + n])
            self.pos += n
            return
        if hasher is not None:
            hasher.update(memoryview(self.buf)[self.pos : self.end])
        n -= left
        self.pos = self.end = 0
        self.buf = b""
        if self.seekable and hasher is None:
            self.src.seek(n, 1)  # past the data: only headers are read
            return
        scratch = bytearray(min(n, _CHUNK))
        view = memoryview(scratch)
        while n > 0:
            got = self.src.readinto(view[: min(n, len(scratch))])  # type: ignore[attr-defined]
            if not got:
                raise InvalidArgument("layer tar is truncated: a file's data ends early")
            if hasher is not None:
                hasher.update(view[:got])
            n -= got

    def drain(self) -> None:
        self.pos = self.end = 0
        self.buf = b""
        scratch = bytearray(_CHUNK)
        while self.src.readinto(scratch):  # type: ignore[attr-defined]
            pass


def scan_tar(src: BinaryIO, *, digests: bool = False, seekable: bool = False) -> list[TarEntry]:
    """Every member of the tar ``src`` in order.

    The stream is read to its end (so a verifying reader checks the blob), unless ``seekable``:
    then file data is skipped with ``seek`` and reading stops at the end-of-archive marker.
    With ``digests`` each regular file's contents are hashed (sha256) as they stream past.
    """
    stream = _Stream(src, seekable)
    entries: list[TarEntry] = []
    long_name: str | None = None
    long_link: str | None = None
    pax: dict[str, str] = {}
    while True:
        block = stream.block()
        if len(block) < _BLOCK:
            if not block or block == _ZERO[: len(block)]:
                break
            raise InvalidArgument("layer tar is truncated: a header ends early")
        if block == _ZERO:
            break
        if not entries or block[257:262] != b"ustar":  # old-style header: check it whole
            checksum = _number(block[148:156])
            if checksum != sum(block) - sum(block[148:156]) + 8 * 32:
                raise InvalidArgument(
                    f"layer is not a valid tar: bad header checksum after {len(entries)} entries"
                )
        kind = chr(block[156]) if block[156] else REGULAR
        size = _number(block[124:136])
        if kind in "xgLK":
            data = stream.read(size)
            stream.skip(-size % _BLOCK)
            if kind == "x":
                pax.update(_pax(data))
            elif kind == "L":
                long_name = _text(data)
            elif kind == "K":
                long_link = _text(data)
            continue  # global PAX headers ("g") carry nothing a layer diff needs
        name = _text(block[0:100])
        if block[257:263] == b"ustar\x00" and block[345]:
            name = _text(block[345:500]) + "/" + name
        linkname = _text(block[157:257])
        if long_name is not None:
            name, long_name = long_name, None
        if long_link is not None:
            linkname, long_link = long_link, None
        if pax:
            name = pax.get("path", name)
            linkname = pax.get("linkpath", linkname)
            if "size" in pax:
                size = int(pax["size"])
            pax = {}
        if kind == "7":
            kind = REGULAR
        if kind == REGULAR and name.endswith("/"):
            kind = DIRECTORY
        mode = _number(block[100:108])
        data_size = 0 if kind in _HEADER_ONLY else size
        hasher = hashlib.sha256() if digests and kind == REGULAR else None
        if data_size:
            if hasher is not None:
                stream.skip(data_size, hasher)
                stream.skip(-data_size % _BLOCK)
            else:
                stream.skip(data_size + (-data_size % _BLOCK))
        path = _clean(name)
        if not path:
            continue
        entries.append(
            TarEntry(
                path,
                kind,
                size,
                mode & 0o7777,
                _number(block[108:116]),
                _number(block[116:124]),
                linkname,
                kind == DIRECTORY or (mode & 0o170000) == 0o040000,
                hasher.hexdigest() if hasher is not None else None,
            )
        )
    if not seekable:
        stream.drain()
    return entries
