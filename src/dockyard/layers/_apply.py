"""Extract a layer onto a directory — all of it, or (for a bad layer) none of it.

How: the (possibly compressed) stream is read once, decompressed and hashed (giving the
diff_id) into an anonymous temporary file, the *spool*, created next to the target directory
(``O_TMPFILE``: never visible, gone when closed, and on the disk that will hold the extracted files
anyway). Memory use stays constant whatever the layer's size, and the source is read strictly
forwards, so it may be a pipe or a network response.

Then the spool's tar headers are read (seeking over the file data) and the whole layer is checked
by :func:`~._plan.plan_layer` against a model of the target, without writing anything. Only a
layer that passes, with a matching diff_id when one is expected, is applied: removals for its
whiteouts first, then its entries in order, each created fresh (an existing file is unlinked,
never written through; files are opened ``O_EXCL|O_NOFOLLOW``). Directory modes and mtimes are
set last, deepest first, so read-only directories and mtimes survive their own filling.

So a refused or corrupt layer leaves the target untouched. An I/O failure *while* applying an
accepted layer (disk full, say) can leave it half-updated; the error says so.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from dockyard.digest import Digest, Digester
from dockyard.errors import DigestInvalid, FailedPrecondition, InvalidArgument
from dockyard.layers._compression import CHUNK_SIZE, decompressor
from dockyard.layers._entries import xattrs_from_pax
from dockyard.layers._plan import Plan, plan_layer

__all__ = ["ApplyStats", "apply_layer"]

_SKIPPABLE_XATTR_ERRORS = {errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM}


@dataclass
class ApplyStats:
    """What :func:`apply_layer` did."""

    diff_id: Digest  #: sha256 of the uncompressed tar
    size: int  #: bytes of the uncompressed tar
    files: int = 0
    directories: int = 0
    symlinks: int = 0
    hardlinks: int = 0
    special: int = 0  #: devices and fifos
    whiteouts: int = 0  #: whiteout and opaque markers in the layer
    removed: int = 0  #: paths of the lower content removed by them
    bytes_written: int = 0  #: regular file content written
    xattrs_skipped: int = 0  #: xattrs the file system or our privileges did not allow


def _spool(stream: BinaryIO, spool: IO[bytes]) -> tuple[Digest, int]:
    digester = Digester()
    source = decompressor(stream)
    while chunk := source.read(CHUNK_SIZE):
        digester.update(chunk)
        spool.write(chunk)
    spool.flush()
    return digester.digest(), digester.size


def _members(spool: IO[bytes], size: int) -> tuple[tarfile.TarFile | None, list[tarfile.TarInfo]]:
    if size == 0:
        return None, []  # an empty stream is an empty layer
    spool.seek(0)
    try:
        tar = tarfile.open(  # noqa: SIM115 - closed by the caller
            fileobj=spool, mode="r:", encoding="utf-8", errors="surrogateescape"
        )
        members = tar.getmembers()
    except tarfile.TarError as exc:
        raise InvalidArgument(
            f"layer is not a valid tar archive: {exc}; the blob is corrupt or not a layer"
        ) from None
    for m in members:
        if m.isreg() and not m.issparse() and m.offset_data + m.size > size:
            raise InvalidArgument(
                f"layer tar is truncated: entry {m.name!r} needs {m.size} bytes of data that are "
                "not there; the blob is incomplete — fetch it again"
            )
    return tar, members


def _spool_file(root: Path, spool_dir: Path | None) -> IO[bytes]:
    """An anonymous temp file in ``spool_dir``, else next to ``root``, else in the system's."""
    if spool_dir is not None:
        return tempfile.TemporaryFile(dir=spool_dir)
    with contextlib.suppress(OSError):
        return tempfile.TemporaryFile(dir=root.parent)
    return tempfile.TemporaryFile()


def _remove(path: Path) -> bool:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)
    return True


class _Applier:
    def __init__(self, tar: tarfile.TarFile | None, root: Path, privileged: bool) -> None:
        self._tar = tar
        self._root = root
        self._privileged = privileged
        self._dirs_known: set[str] = {""}
        self._dir_meta: list[tuple[Path, int, int]] = []
        self.stats: ApplyStats

    def removals(self, plan: Plan) -> None:
        for op, rel in plan.removals:
            target = self._root / rel
            if op == "delete":
                self.stats.removed += _remove(target)
                continue
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                for child in os.scandir(target):
                    self.stats.removed += _remove(Path(child.path))

    def _parents(self, rel: str) -> None:
        parts = rel.split("/")[:-1]
        for i in range(len(parts)):
            key = "/".join(parts[: i + 1])
            if key in self._dirs_known:
                continue
            path = self._root / key
            if not os.path.lexists(path):
                os.mkdir(path, 0o755)
            self._dirs_known.add(key)

    def _xattrs(self, target: int | Path, member: tarfile.TarInfo, symlink: bool) -> None:
        for name, value in xattrs_from_pax(member).items():
            try:
                os.setxattr(target, name, value, follow_symlinks=not symlink)
            except OSError as exc:
                if exc.errno not in _SKIPPABLE_XATTR_ERRORS:
                    raise
                self.stats.xattrs_skipped += 1

    def entry(self, member: tarfile.TarInfo, rel: str) -> None:
        self._parents(rel)
        path = self._root / rel
        try:
            existing = os.lstat(path)
        except FileNotFoundError:
            existing = None
        if existing is not None and not (member.isdir() and stat.S_ISDIR(existing.st_mode)):
            _remove(path)
            self._dirs_known = {k for k in self._dirs_known if not k.startswith(rel + "/")}
            existing = None
        mtime_ns = round(member.mtime * 1_000_000_000)
        mode = member.mode & 0o7777
        if member.islnk():
            target = self._root / "/".join(
                p for p in member.linkname.split("/") if p not in ("", ".")
            )
            os.link(target, path, follow_symlinks=False)
            self.stats.hardlinks += 1
            return
        if member.isreg():
            self._file(member, path, mode)
        elif member.isdir():
            if existing is None:
                os.mkdir(path, 0o700)
            self._own(path, member, symlink=False)
            self._xattrs(path, member, symlink=False)
            self._dir_meta.append((path, mode, mtime_ns))
            self._dirs_known.add(rel)
            self.stats.directories += 1
            return
        elif member.issym():
            os.symlink(member.linkname, path)
            self._own(path, member, symlink=True)
            self._xattrs(path, member, symlink=True)
            self.stats.symlinks += 1
        else:
            if member.isfifo():
                os.mkfifo(path, 0o600)
            else:
                kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
                os.mknod(path, kind | 0o600, os.makedev(member.devmajor, member.devminor))
            self._own(path, member, symlink=False)
            self._xattrs(path, member, symlink=False)
            os.chmod(path, mode)
            self.stats.special += 1
        os.utime(path, ns=(mtime_ns, mtime_ns), follow_symlinks=False)

    def _own(self, target: int | Path, member: tarfile.TarInfo, *, symlink: bool) -> None:
        if self._privileged:
            os.chown(target, member.uid, member.gid, follow_symlinks=not symlink)

    def _file(self, member: tarfile.TarInfo, path: Path, mode: int) -> None:
        assert self._tar is not None
        source = self._tar.extractfile(member)
        assert source is not None
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "wb") as out, source:
            while chunk := source.read(CHUNK_SIZE):
                out.write(chunk)
                self.stats.bytes_written += len(chunk)
            out.flush()
            self._own(fd, member, symlink=False)  # before chmod: chown clears setuid/setgid
            self._xattrs(fd, member, symlink=False)
            os.fchmod(fd, mode)
        self.stats.files += 1

    def finish(self) -> None:
        for path, mode, mtime_ns in reversed(self._dir_meta):
            os.chmod(path, mode)
            os.utime(path, ns=(mtime_ns, mtime_ns), follow_symlinks=False)


def apply_layer(
    stream: BinaryIO,
    root: Path,
    *,
    expected_diff_id: Digest | None = None,
    privileged: bool | None = None,
    spool_dir: Path | None = None,
) -> ApplyStats:
    """Apply the layer in ``stream`` (gzip, zstd or plain tar) onto directory ``root``.

    Whiteouts remove content of the layers below; whiteout files are not created. Modes
    (setuid/setgid/sticky included), xattrs, hardlinks, symlinks, empty directories and mtimes are
    restored; owners, device nodes and ``security.capability`` need ``privileged`` (default:
    whether we run as root). Raises :class:`~dockyard.errors.UnsafeLayer` for a hostile entry,
    :class:`~dockyard.errors.InvalidArgument` for a corrupt stream and
    :class:`~dockyard.errors.DigestInvalid` when ``expected_diff_id`` does not match; in all those
    cases ``root`` is left untouched. ``root`` is created if missing.
    """
    if privileged is None:
        privileged = os.geteuid() == 0
    root = Path(os.path.abspath(root))
    if os.path.lexists(root) and not root.is_dir():
        raise InvalidArgument(f"cannot apply a layer onto {root}: it is not a directory")
    with _spool_file(root, spool_dir) as spool:
        diff_id, size = _spool(stream, spool)
        if expected_diff_id is not None and diff_id != expected_diff_id:
            raise DigestInvalid(
                f"layer diff_id mismatch: expected {expected_diff_id}, got {diff_id}; the layer "
                "does not belong to this image — pull or load it again"
            )
        tar, members = _members(spool, size)
        try:
            plan = plan_layer(members, root, privileged=privileged)
            applier = _Applier(tar, root, privileged)
            applier.stats = ApplyStats(diff_id=diff_id, size=size, whiteouts=plan.whiteouts)
            root.mkdir(parents=True, exist_ok=True)
            current = "(whiteouts)"
            try:
                applier.removals(plan)
                for member, rel in plan.entries:
                    current = member.name
                    applier.entry(member, rel)
                applier.finish()
            except (OSError, tarfile.TarError) as exc:
                raise FailedPrecondition(
                    f"applying layer entry {current!r} onto {root} failed: {exc}; the directory "
                    "is now partly updated — remove it and apply the layers again"
                ) from exc
        finally:
            if tar is not None:
                tar.close()
    return applier.stats
