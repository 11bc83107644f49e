"""Random access to the members of an image archive's tar: read in place, never unpacked.

An uncompressed tar file is indexed once (headers only; member data is skipped with seeks) and
each member is then read with ``pread`` at its offset, so several blobs can stream at once from
one file descriptor. A compressed archive, or one arriving on a pipe, is first written out
uncompressed to a temporary file, which is then read the same way.
"""

from __future__ import annotations

import bz2
import io
import lzma
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from dockyard.digest import Digest, Digester
from dockyard.errors import DigestInvalid, DockyardError, InvalidArgument, NotFound, SizeInvalid
from dockyard.layers import decompressor

__all__ = ["ArchiveTar", "Member", "open_tar"]

_CHUNK = 1 << 20
_BLOCK = 512
_LINK_DEPTH = 16


@dataclass(frozen=True, slots=True)
class Member:
    """A regular file in the tar: where its bytes start and how many there are."""

    name: str
    offset: int
    size: int


def clean_name(name: str) -> str:
    """A member name as the archive's JSON refers to it (``./a/../b`` → ``b``)."""
    name = posixpath.normpath(name.lstrip("/"))
    return "" if name == "." else name


class ArchiveTar:
    """The regular-file members of an uncompressed tar, readable in place and in parallel."""

    def __init__(self, fd: int, label: str, *, base: int = 0, spool: Path | None = None) -> None:
        #: what error messages call the archive (its path as given, or "<stdin>")
        self.label = label
        self.compressed = spool is not None
        self._fd = fd
        self._base = base
        self._spool = spool
        self._members: dict[str, Member] = {}
        self._links: dict[str, str] = {}
        #: the tar stopped before its end-of-archive blocks: what is missing was cut off
        self.cut_short = False
        try:
            self._index()
        except BaseException:
            self.close()
            raise

    # --- indexing --------------------------------------------------------------------------

    def _index(self) -> None:
        size = os.fstat(self._fd).st_size - self._base
        raw = _Window(self._fd, self._base, size)
        last: Member | None = None
        try:
            with tarfile.open(fileobj=raw, mode="r:") as tar:
                while True:
                    try:
                        info = tar.next()
                    except tarfile.ReadError as exc:
                        if "unexpected end" in str(exc):
                            raise self._truncated(last, size) from exc
                        raise
                    if info is None:
                        break
                    last = self._add(info) or last
        except (tarfile.TarError, EOFError) as exc:
            raise InvalidArgument(
                f"{self.label} is not a valid image archive: {exc} (expected a tar from "
                "`docker save` or an OCI archive)"
            ) from exc
        if last is not None and last.offset + last.size > size:
            raise self._truncated(last, size)
        end = 0 if last is None else _round_up(last.offset + last.size)
        # a complete tar ends with two zero blocks; without them the end was cut off
        self.cut_short = size - end < 2 * _BLOCK

    def _add(self, info: tarfile.TarInfo) -> Member | None:
        name = clean_name(info.name)
        if info.issym():
            self._links[name] = clean_name(posixpath.join(posixpath.dirname(name), info.linkname))
        elif info.islnk():
            self._links[name] = clean_name(info.linkname)
        elif info.isfile():
            member = Member(name, info.offset_data, info.size)
            self._members[name] = member
            return member
        return None

    def _truncated(self, member: Member | None, size: int) -> InvalidArgument:
        if member is None:
            return InvalidArgument(
                f"the image archive {self.label} is truncated: it ends inside its first "
                "member; save or download it again"
            )
        have = max(0, size - member.offset)
        return InvalidArgument(
            f"the image archive {self.label} is truncated: member {member.name} should have "
            f"{member.size} bytes but the archive ends after {have}: save or download it "
            "again"
        )

    # --- reading ---------------------------------------------------------------------------

    def resolve(self, name: str) -> str:
        """``name`` with the symlinks and hard links docker save writes for shared layers
        followed."""
        name = clean_name(name)
        for _ in range(_LINK_DEPTH):
            if name not in self._links:
                return name
            name = self._links[name]
        raise InvalidArgument(f"{self.label}: archive member {name!r} is a symlink loop")

    def member(self, name: str) -> Member | None:
        return self._members.get(self.resolve(name))

    def __contains__(self, name: str) -> bool:
        return self.member(name) is not None

    def names(self) -> list[str]:
        return sorted(self._members)

    def head(self, member: Member, n: int) -> bytes:
        """The first ``n`` bytes of ``member`` (fewer if it is shorter)."""
        return os.pread(self._fd, min(n, member.size), self._base + member.offset)

    def read(self, member: Member) -> bytes:
        data = os.pread(self._fd, member.size, self._base + member.offset)
        if len(data) != member.size:  # pragma: no cover - the index checked the sizes
            raise InvalidArgument(f"{self.label}: member {member.name} could not be read whole")
        return data

    def open(self, member: Member, digest: Digest | None = None) -> BinaryIO:
        """A stream of ``member``; with ``digest``, it checks the bytes hash to it (and vouches
        for that, so a content store need not hash them again)."""
        raw = _MemberReader(self, member, digest)
        return cast(BinaryIO, io.BufferedReader(raw, buffer_size=_CHUNK))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._spool is not None:
            self._spool.unlink(missing_ok=True)
            self._spool = None


def _round_up(n: int) -> int:
    return (n + _BLOCK - 1) // _BLOCK * _BLOCK


class _Window(io.RawIOBase):
    """A read-only, seekable view of a file descriptor from ``base`` on (for tarfile's index
    pass), read with ``pread`` so the descriptor's own position is never moved."""

    def __init__(self, fd: int, base: int, size: int) -> None:
        super().__init__()
        self._fd = fd
        self._base = base
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == os.SEEK_SET:
            self._pos = offset
        elif whence == os.SEEK_CUR:
            self._pos += offset
        else:
            self._pos = self._size + offset
        return self._pos

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        want = min(len(buffer), max(0, self._size - self._pos))
        if want <= 0:
            return 0
        data = os.pread(self._fd, want, self._base + self._pos)
        n = len(data)
        buffer[:n] = data
        self._pos += n
        return n


class _MemberReader(io.RawIOBase):
    """One member's bytes; with a digest, hashed as they are read and checked at the end,
    before the last bytes are handed out (so the stream vouches for ``(digest, size)``)."""

    def __init__(self, tar: ArchiveTar, member: Member, digest: Digest | None) -> None:
        super().__init__()
        self._tar = tar
        self._member = member
        self._digest = digest
        self._hasher = Digester(digest.algorithm) if digest is not None else None
        self._pos = 0

    @property
    def vouched(self) -> tuple[Digest, int] | None:
        return None if self._digest is None else (self._digest, self._member.size)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        member = self._member
        want = min(len(buffer), member.size - self._pos)
        if want <= 0:
            return 0
        data = os.pread(self._tar._fd, want, self._tar._base + member.offset + self._pos)
        n = len(data)
        if n == 0:
            raise SizeInvalid(
                f"the image archive {self._tar.label} ended inside member {member.name}: "
                "the file changed while it was read; save or download it again"
            )
        if self._hasher is not None:
            self._hasher.update(data)
        self._pos += n
        if self._pos == member.size and self._hasher is not None and self._digest is not None:
            actual = self._hasher.digest()
            if actual != self._digest:
                raise DigestInvalid(
                    f"member {member.name} of the image archive {self._tar.label} is corrupt: "
                    f"its {member.size} bytes hash to {actual}, but the archive says "
                    f"{self._digest}; save or download the archive again",
                    detail={"expected": str(self._digest), "actual": str(actual)},
                )
        buffer[:n] = data
        return n


# --- opening: in place, or spooled ------------------------------------------------------------


def open_tar(
    source: Path | BinaryIO, *, label: str | None = None, spool_dir: Path | None = None
) -> ArchiveTar:
    """Index the archive at ``source`` (a path, or an open stream such as stdin).

    A plain tar in a regular file is read in place. Anything else (gzip, zstd, bzip2 or xz; a
    pipe) is first written uncompressed to a temporary file in ``spool_dir`` (default: the
    system's temporary directory), removed again by :meth:`ArchiveTar.close`.
    """
    if isinstance(source, Path):
        label = label or str(source)
        try:
            fd = os.open(source, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise NotFound(f"open {source}: no such file or directory") from None
        base = 0
    else:
        label = label or "<stdin>"
        fd, base = _regular_fd(source)
    if fd >= 0:
        try:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                raise IsADirectoryError(21, "Is a directory", str(source))
            head = os.pread(fd, 6, base)
        except BaseException:
            os.close(fd)
            raise
        if not _compressed(head):
            return ArchiveTar(fd, label, base=base)  # closes fd if it fails
        with os.fdopen(fd, "rb") as stream:
            stream.seek(base)
            return _spooled(cast(BinaryIO, stream), label, spool_dir)
    return _spooled(cast(BinaryIO, source), label, spool_dir)


def _regular_fd(stream: BinaryIO) -> tuple[int, int]:
    """A descriptor of our own for ``stream`` if it is a regular file (``< file.tar``), and
    where in it the stream stands; ``(-1, 0)`` for a pipe, a socket or an in-memory stream."""
    try:
        fd = stream.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return -1, 0
        position = stream.tell()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return -1, 0
    return os.dup(fd), position


def _compressed(head: bytes) -> bool:
    return head.startswith((b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"BZh", b"\xfd7zXZ\x00"))


def _uncompressed(stream: BinaryIO) -> BinaryIO:
    """Undo gzip, zstd, bzip2 or xz (a plain stream passes through)."""
    peekable = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)  # type: ignore[type-var]
    head = peekable.peek(6)[:6]
    if head.startswith(b"BZh"):
        return cast(BinaryIO, bz2.BZ2File(peekable))
    if head.startswith(b"\xfd7zXZ\x00"):
        return cast(BinaryIO, lzma.LZMAFile(peekable))
    return decompressor(cast(BinaryIO, peekable))


def _spooled(stream: BinaryIO, label: str, spool_dir: Path | None) -> ArchiveTar:
    fd, name = tempfile.mkstemp(dir=spool_dir, prefix=".dockyard-archive-", suffix=".tar")
    path = Path(name)
    cut: str | None = None
    try:
        with os.fdopen(os.dup(fd), "wb") as out:
            try:
                with _uncompressed(stream) as plain:
                    shutil.copyfileobj(plain, out, _CHUNK)
            except (EOFError, lzma.LZMAError, OSError, DockyardError) as exc:
                if isinstance(exc, OSError) and exc.errno is not None:
                    raise  # a real I/O error (disk full, ...), not a damaged stream
                cut = str(exc) or type(exc).__name__
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    damaged = InvalidArgument(
        f"the image archive {label} is truncated or damaged ({cut}): save or download it again"
    )
    try:
        tar = ArchiveTar(fd, label, spool=path)  # closes fd and removes the spool if it fails
    except InvalidArgument as exc:
        if cut is None or "truncated" in str(exc):
            raise
        raise damaged from exc
    if cut is not None:
        tar.close()
        raise damaged
    return tar
