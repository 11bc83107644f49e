"""The layer tar writer: every layer dockyard makes is written here, byte for byte the same
whoever asks (:func:`~._create.tar_directory`, both differs, the builder's COPY layers).

What it writes is what ``tarfile`` in PAX mode writes for the same entries (a test compares the
two), so layer digests do not depend on the writer: a USTAR header per entry with numeric owners
only (no user or group names), whole-second mtimes (optionally clamped), directories named with
a trailing ``/``, a PAX ``x`` header before an entry only when a field does not fit (long or
non-ASCII names and link targets, big ids or sizes) or the entry carries xattrs
(``SCHILY.xattr.*``, sorted), ``hdrcharset=BINARY`` when a record is not UTF-8, and the archive
padded to whole 10 KiB records. A regular file seen before (same inode, more than one link)
becomes a hard link to its first name, without xattrs. Whiteouts are empty files owned by root,
mode 0.

Why not ``tarfile`` itself: it builds a ``TarInfo``, copies it, turns it into a dict and formats
every field on each entry; for a layer of ten thousand small files that is most of the time
spent. This writer formats the header directly, copies file data with ``os.read`` into one
buffer and hands the stream 1 MiB at a time.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from dockyard.layers._entries import OPAQUE_MARKER, WHITEOUT_PREFIX, XATTR_PAX_PREFIX, read_xattrs

__all__ = ["DeferredDirs", "LayerTarWriter", "entry_kind"]

_BLOCK = 512
_RECORD = 20 * _BLOCK
_FLUSH = 1 << 20
_MAGIC = b"ustar\x0000"
_NUL8 = b"\0" * 8

REG, LNK, SYM, CHR, BLK, DIR, FIFO = b"0", b"1", b"2", b"3", b"4", b"5", b"6"
_XHD = b"x"


def entry_kind(mode: int) -> bytes | None:
    """The tar type of a file with ``st_mode`` ``mode`` (None: sockets, not carried)."""
    if stat.S_ISREG(mode):
        return REG
    if stat.S_ISDIR(mode):
        return DIR
    if stat.S_ISLNK(mode):
        return SYM
    if stat.S_ISCHR(mode):
        return CHR
    if stat.S_ISBLK(mode):
        return BLK
    if stat.S_ISFIFO(mode):
        return FIFO
    return None


def _num(n: int, digits: int) -> bytes:
    return b"%0*o\0" % (digits - 1, n)


def _str(value: bytes, length: int) -> bytes:
    return value[:length] + b"\0" * (length - len(value))


def _header(
    name: bytes,
    mode: int,
    uid: int,
    gid: int,
    size: int,
    mtime: int,
    kind: bytes,
    linkname: bytes,
    dev: tuple[int, int] | None,
) -> bytes:
    devices = _num(dev[0], 8) + _num(dev[1], 8) if dev is not None else _NUL8 + _NUL8
    head = b"".join(
        (
            _str(name, 100),
            _num(mode & 0o7777, 8),
            _num(uid, 8),
            _num(gid, 8),
            _num(size, 12),
            _num(mtime, 12),
            b"        ",
            kind,
            _str(linkname, 100),
            _MAGIC,
            b"\0" * 64,  # uname, gname: numeric owners only
            devices,
            b"\0" * 155,
        )
    )
    head += b"\0" * (_BLOCK - len(head))
    checksum = sum(head)
    return head[:148] + b"%06o\0" % checksum + head[155:]


def _pax(records: list[tuple[str, str]]) -> bytes:
    binary = False
    for _, value in records:
        try:
            value.encode("utf-8", "strict")
        except UnicodeEncodeError:
            binary = True
            break
    body = b"21 hdrcharset=BINARY\n" if binary else b""
    for keyword, text in records:
        key = keyword.encode("utf-8")
        raw = text.encode("utf-8", "surrogateescape") if binary else text.encode("utf-8")
        length = len(key) + len(raw) + 3
        n = p = 0
        while True:
            n = length + len(str(p))
            if n == p:
                break
            p = n
        body += str(p).encode("ascii") + b" " + key + b"=" + raw + b"\n"
    head = _header(b"././@PaxHeader", 0, 0, 0, len(body), 0, _XHD, b"", None)
    return head + body + b"\0" * (-len(body) % _BLOCK)


def _ascii_fits(text: str, length: int) -> bool:
    return text.isascii() and len(text) <= length


class LayerTarWriter:
    """Writes layer entries as a PAX tar into ``out`` (which is not closed); see the module
    docstring. ``clamp_mtime`` (seconds, e.g. ``SOURCE_DATE_EPOCH``) caps every mtime."""

    def __init__(self, out: BinaryIO, *, clamp_mtime: int | None = None) -> None:
        self._out = out
        self._clamp = clamp_mtime
        self._buf = bytearray()
        self._offset = 0
        self._inodes: dict[tuple[int, int], str] = {}

    def _mtime(self, seconds: int) -> int:
        if self._clamp is not None and seconds > self._clamp:
            return self._clamp
        return seconds

    def _emit(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data
        if len(self._buf) >= _FLUSH:
            self._out.write(self._buf)
            self._offset += len(self._buf)
            self._buf = bytearray()

    def entry(
        self,
        name: str,
        kind: bytes,
        *,
        mode: int,
        uid: int,
        gid: int,
        mtime: int,
        size: int = 0,
        linkname: str = "",
        dev: tuple[int, int] | None = None,
        xattrs: Mapping[str, bytes] | None = None,
    ) -> None:
        """Write one header (the caller writes ``size`` bytes of content with :meth:`data`)."""
        if kind == DIR and not name.endswith("/"):
            name += "/"
        mtime = self._mtime(mtime)
        records: list[tuple[str, str]] = []
        if xattrs:
            for key in sorted(xattrs):
                records.append(
                    (XATTR_PAX_PREFIX + key, xattrs[key].decode("utf-8", "surrogateescape"))
                )
        if not _ascii_fits(name, 100):
            records.append(("path", name))
            raw_name = name.encode("ascii", "replace")
        else:
            raw_name = name.encode("ascii")
        if linkname and not _ascii_fits(linkname, 100):
            records.append(("linkpath", linkname))
            raw_link = linkname.encode("ascii", "replace")
        else:
            raw_link = linkname.encode("ascii")
        fields = {"uid": uid, "gid": gid, "size": size, "mtime": mtime}
        for key, digits in (("uid", 8), ("gid", 8), ("size", 12), ("mtime", 12)):
            value = fields[key]
            if not 0 <= value < 8 ** (digits - 1):
                records.append((key, str(value)))
                fields[key] = 0
        if records:
            self._emit(_pax(records))
        self._emit(
            _header(
                raw_name,
                mode,
                fields["uid"],
                fields["gid"],
                fields["size"],
                fields["mtime"],
                kind,
                raw_link,
                dev if kind in (CHR, BLK) else None,
            )
        )

    def data(self, path: Path | str, size: int) -> None:
        """Copy ``size`` bytes of ``path`` (opened without following a symlink), padded."""
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            left = size
            while left > 0:
                chunk = os.read(fd, min(left, _FLUSH))
                if not chunk:
                    raise OSError(f"{path} shrank while it was being added to a layer")
                self._emit(chunk)
                left -= len(chunk)
        finally:
            os.close(fd)
        if size % _BLOCK:
            self._emit(b"\0" * (_BLOCK - size % _BLOCK))

    def add(
        self,
        arcname: str,
        path: Path,
        st: os.stat_result,
        *,
        owner: tuple[int, int] | None = None,
        mode: int | None = None,
        xattrs: Mapping[str, bytes] | None = None,
    ) -> None:
        """Add ``path`` (already ``lstat``-ed as ``st``) under ``arcname``; sockets are skipped.
        ``owner``/``mode``/``xattrs`` replace what ``st`` and the file say (COPY --chown/--chmod)."""
        kind = entry_kind(st.st_mode)
        if kind is None:
            return
        uid, gid = owner if owner is not None else (st.st_uid, st.st_gid)
        perm = stat.S_IMODE(st.st_mode) if mode is None else mode
        mtime = st.st_mtime_ns // 1_000_000_000
        if kind == REG:
            key = (st.st_dev, st.st_ino)
            first = self._inodes.get(key) if st.st_nlink > 1 else None
            if first is not None:  # a hard link carries no xattrs
                self.entry(arcname, LNK, mode=perm, uid=uid, gid=gid, mtime=mtime, linkname=first)
                return
        if xattrs is None:
            xattrs = read_xattrs(path)
        if kind == REG:
            if st.st_nlink > 1:
                self._inodes[key] = arcname
            size = st.st_size
            self.entry(
                arcname, REG, mode=perm, uid=uid, gid=gid, mtime=mtime, size=size, xattrs=xattrs
            )
            self.data(path, size)
            return
        link = os.readlink(path) if kind == SYM else ""
        dev = (os.major(st.st_rdev), os.minor(st.st_rdev)) if kind in (CHR, BLK) else None
        self.entry(
            arcname, kind, mode=perm, uid=uid, gid=gid, mtime=mtime, linkname=link, dev=dev,
            xattrs=xattrs,
        )  # fmt: skip

    def directory(self, arcname: str, *, mode: int, uid: int, gid: int, mtime: int) -> None:
        """A directory that exists only in the layer (one a COPY makes)."""
        self.entry(arcname, DIR, mode=mode, uid=uid, gid=gid, mtime=mtime)

    def whiteout(self, arcname: str, mtime: int) -> None:
        """Add an empty marker file (a whiteout or the opaque marker)."""
        self.entry(arcname, REG, mode=0, uid=0, gid=0, mtime=mtime)

    def delete(self, parent: str, name: str, mtime: int) -> None:
        """Record that ``parent``/``name`` (``parent`` is ``""`` or ends in ``/``) is gone."""
        self.whiteout(f"{parent}{WHITEOUT_PREFIX}{name}", mtime)

    def opaque(self, parent: str, mtime: int) -> None:
        """Record that directory ``parent`` (ending in ``/``) hides all lower content."""
        self.whiteout(parent + OPAQUE_MARKER, mtime)

    def close(self) -> None:
        self._emit(b"\0" * (2 * _BLOCK))
        total = self._offset + len(self._buf)
        if total % _RECORD:
            self._buf += b"\0" * (_RECORD - total % _RECORD)
        if self._buf:
            self._out.write(self._buf)
            self._offset += len(self._buf)
            self._buf = bytearray()

    def __enter__(self) -> LayerTarWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()


class _Deferred:
    __slots__ = ("arcname", "path", "st", "written")  # a plain class: nothing made at import

    def __init__(self, arcname: str, path: Path, st: os.stat_result) -> None:
        self.arcname, self.path, self.st = arcname, path, st
        self.written = False


class DeferredDirs:
    """The unchanged directories on a differ's current path: each is written (with its own
    metadata) only once something below it is, so applying the layer restores the parents of
    every change, as Docker's and containerd's differs do."""

    def __init__(self, writer: LayerTarWriter) -> None:
        self._writer = writer
        self._stack: list[_Deferred] = []

    def push(self, arcname: str, path: Path, st: os.stat_result) -> None:
        self._stack.append(_Deferred(arcname, path, st))

    def pop(self) -> None:
        self._stack.pop()

    def flush(self) -> None:
        """Write every directory on the path not written yet (before an entry below them)."""
        for parent in self._stack:
            if not parent.written:
                self._writer.add(parent.arcname, parent.path, parent.st)
                parent.written = True
