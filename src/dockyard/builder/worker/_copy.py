"""COPY and ADD into a snapshot with Docker's (BuildKit's) semantics.

* A directory source copies its *contents*; a file goes to ``dest`` itself, or into it when
  ``dest`` ends in ``/``, already is a directory, or several sources are copied.
* Relative destinations are under WORKDIR; missing parent directories are made 0755 and owned by
  the ``--chown`` user (root without it), as BuildKit does.
* Modes, mtimes, symlinks (not followed below the top level), hardlinks within the copy and
  ``user.*`` xattrs are kept. Owners become root (or ``--chown``) for context files and are kept
  for sources from another stage or image (``preserve_owner``).
* ``--chmod`` (octal or symbolic) applies to every copied file and directory, ``--exclude``
  patterns drop paths below a source, ``--parents`` keeps the source's path.
* ADD unpacks local tar archives (plain, gzip, bzip2, xz) into the destination.

Every write goes through paths resolved inside the target root, so symlinks in the image cannot
send a copy outside it.

The COPY walk is one: :class:`CopyRules` decides where each matched source goes
(:meth:`~CopyRules.placements`), which entries of a source directory are taken
(:meth:`~CopyRules.children`) and each entry's owner and mode. It has two consumers that do
different jobs and so stay apart: :func:`copy_into` (here) *materialises* the copy into a
writable snapshot — it must replace what is in the way, keep an existing destination
directory's metadata, set directory metadata after filling them, and unpack ADD's archives —
while :mod:`._copy_layer` *plans the layer* of the copy from the sources alone, writing nothing
to disk, for the builder's fast COPY path. A test builds both ways and compares the layers.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.builder.worker._chmod import parse_chmod
from dockyard.builder.worker._match import matches_or_parent
from dockyard.builder.worker._scope import clean_path, make_dirs, resolve_in_root
from dockyard.builder.worker._sources import SourceMatch, match_sources
from dockyard.builder.worker._users import resolve_chown
from dockyard.errors import InvalidArgument
from dockyard.layers import read_xattrs

__all__ = ["CopyRequest", "CopyRules", "Placement", "check_sources", "copy_into"]


@dataclass(frozen=True)
class CopyRequest:
    """One COPY/ADD: ``sources`` (paths or globs in the source root) to ``dest``."""

    sources: tuple[str, ...]
    dest: str
    cwd: str = "/"  #: WORKDIR, for a relative ``dest``
    chown: str | None = None  #: user[:group], resolved in the *target*'s /etc/passwd
    chmod: str | None = None
    excludes: tuple[str, ...] = field(default=())
    parents: bool = False
    preserve_owner: bool = False  #: keep source owners (COPY --from a stage or image)
    unpack_archives: bool = False  #: ADD: extract local tar archives


def check_sources(request: CopyRequest) -> None:
    """Refuse several sources copied to one file."""
    if len(request.sources) > 1 and not request.dest.endswith("/"):
        raise InvalidArgument(
            "When using COPY with more than one source file, the destination must be a "
            "directory and end with a /"
        )


#: Where one matched source of a COPY goes: the match, its stat (a top-level symlink followed
#: when it resolves), the in-image path (the file itself, or the directory its contents go to)
#: and whether it is a directory. (A plain tuple: no record class to create at start-up.)
Placement = tuple[SourceMatch, os.stat_result, str, bool]


class CopyRules:
    """What a COPY request says: where each source goes, which entries of a source directory
    are copied, and each entry's owner and mode. Shared by the copying path (:func:`copy_into`)
    and the path that writes a COPY's layer straight from its sources (:mod:`._copy_layer`)."""

    def __init__(self, target_root: Path, request: CopyRequest) -> None:
        self.request = request
        self.owner: tuple[int, int] | None = (
            resolve_chown(target_root, request.chown) if request.chown else None
        )
        self.chmod: Callable[[int, bool], int] | None = (
            parse_chmod(request.chmod) if request.chmod else None
        )

    @property
    def parent_owner(self) -> tuple[int, int]:
        return self.owner or (0, 0)

    def _ids(self, st: os.stat_result) -> tuple[int, int]:
        if self.owner is not None:
            return self.owner
        return (st.st_uid, st.st_gid) if self.request.preserve_owner else (0, 0)

    def _mode(self, st: os.stat_result) -> int:
        mode = stat.S_IMODE(st.st_mode)
        if self.chmod is not None and not stat.S_ISLNK(st.st_mode):
            return self.chmod(mode, stat.S_ISDIR(st.st_mode))
        return mode

    def _excluded(self, rel: str) -> bool:
        return any(matches_or_parent(p, rel) for p in self.request.excludes)

    def placements(self, source_root: Path, root: Path) -> tuple[str, list[Placement]]:
        """The destination directory (in-image path) and where each source matched in
        ``source_root`` goes, on top of the root filesystem ``root``."""
        request = self.request
        check_sources(request)
        matches = match_sources(source_root, request.sources)
        dest = clean_path(request.dest, request.cwd)
        dest_is_dir = (
            request.dest.endswith("/")
            or request.dest in (".", "")
            or len(matches) > 1
            or resolve_in_root(root, dest).is_dir()
        )
        out: list[Placement] = []
        for match in matches:
            st = os.stat(match.host) if os.path.exists(match.host) else os.lstat(match.host)
            is_dir = stat.S_ISDIR(st.st_mode)
            if request.parents:
                where = clean_path(match.parents_rel, dest) if match.parents_rel else dest
            elif is_dir:
                where = dest
            else:
                name = os.path.basename(match.path.rstrip("/"))
                where = clean_path(name, dest) if dest_is_dir else dest
            out.append((match, st, where, is_dir))
        return dest, out

    def children(self, src: Path, rel: str) -> list[tuple[str, str, Path, os.stat_result]]:
        """``(name, rel, path, lstat)`` of the entries of source directory ``src`` (``rel``
        below the copied source, ``""`` at its top) that the copy takes, in byte order."""
        out = []
        with os.scandir(src) as it:
            for child in sorted(it, key=lambda e: os.fsencode(e.name)):
                child_rel = f"{rel}/{child.name}" if rel else child.name
                if self.request.excludes and self._excluded(child_rel):
                    continue
                out.append(
                    (child.name, child_rel, Path(child.path), child.stat(follow_symlinks=False))
                )
        return out


class _Copier(CopyRules):
    def __init__(self, target_root: Path, request: CopyRequest) -> None:
        super().__init__(target_root, request)
        self.root = target_root
        self.links: dict[tuple[int, int], Path] = {}

    def _finish(self, dst: Path, src: Path, st: os.stat_result) -> None:
        uid, gid = self._ids(st)
        link = stat.S_ISLNK(st.st_mode)
        os.chown(dst, uid, gid, follow_symlinks=not link)
        for name, value in read_xattrs(src).items():
            os.setxattr(dst, name, value, follow_symlinks=not link)
        if not link:
            os.chmod(dst, self._mode(st))
        os.utime(dst, ns=(st.st_mtime_ns, st.st_mtime_ns), follow_symlinks=not link)

    def entry(self, src: Path, dst: Path, st: os.stat_result) -> None:
        """Copy one non-directory ``src`` to host path ``dst`` (replacing what is there)."""
        if os.path.lexists(dst):
            if os.path.isdir(dst) and not os.path.islink(dst):
                shutil.rmtree(dst)
            else:
                os.unlink(dst)
        mode = st.st_mode
        if stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            first = self.links.get(key) if st.st_nlink > 1 else None
            if first is not None:
                os.link(first, dst)
                return
            shutil.copyfile(src, dst, follow_symlinks=False)
            if st.st_nlink > 1:
                self.links[key] = dst
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(src), dst)
        elif stat.S_ISFIFO(mode):
            os.mkfifo(dst)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            os.mknod(dst, mode, st.st_rdev)
        else:
            return  # sockets are not copied
        self._finish(dst, src, st)

    def tree(self, src: Path, dst: Path, *, keep_existing_meta: bool, rel: str = "") -> None:
        """Copy the contents of directory ``src`` into ``dst`` (made if missing)."""
        st = os.lstat(src)
        existed = os.path.isdir(dst) and not os.path.islink(dst)
        if os.path.lexists(dst) and not existed:
            os.unlink(dst)
        if not existed:
            os.mkdir(dst, 0o700)
        for name, child_rel, child, child_st in self.children(src, rel):
            child_dst = dst / name
            if stat.S_ISDIR(child_st.st_mode):
                self.tree(child, child_dst, keep_existing_meta=False, rel=child_rel)
            else:
                self.entry(child, child_dst, child_st)
        if not (existed and keep_existing_meta):
            self._finish(dst, src, st)

    def target(self, path: str) -> Path:
        """Host path for in-image ``path``, its parents created; a final symlink is not followed."""
        parent = os.path.dirname(path)
        make_dirs(self.root, parent, *self.parent_owner)
        return resolve_in_root(self.root, parent) / os.path.basename(path)


def _unpack(copier: _Copier, archive: Path, dest_dir: str) -> bool:
    """Extract ``archive`` into ``dest_dir`` if it is a tar (any compression); else False."""
    try:
        tar = tarfile.open(archive, "r:*")  # noqa: SIM115 - closed below
    except (tarfile.TarError, OSError):
        return False
    with tar:
        make_dirs(copier.root, dest_dir, *copier.parent_owner)
        for member in tar:
            name = clean_path(member.name, "/").lstrip("/")
            if not name:
                continue
            path = clean_path(name, dest_dir)
            host = copier.target(path)
            if member.isdir():
                if not host.is_dir():
                    if os.path.lexists(host):
                        os.unlink(host)
                    os.mkdir(host, 0o755)
            else:
                if os.path.lexists(host) and not (host.is_dir() and not host.is_symlink()):
                    os.unlink(host)
                elif host.is_dir() and not host.is_symlink():
                    shutil.rmtree(host)
                if member.isreg():
                    source = tar.extractfile(member)
                    assert source is not None
                    with source, open(host, "xb") as out:
                        shutil.copyfileobj(source, out)
                elif member.issym():
                    os.symlink(member.linkname, host)
                elif member.islnk():
                    link = clean_path(member.linkname, "/").lstrip("/")
                    os.link(copier.target(clean_path(link, dest_dir)), host)
                    continue
                elif member.isfifo():
                    os.mkfifo(host)
                elif member.ischr() or member.isblk():
                    kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
                    os.mknod(host, kind | 0o600, os.makedev(member.devmajor, member.devminor))
                else:
                    continue
            uid, gid = copier.owner or (member.uid, member.gid)
            symlink = member.issym()
            os.chown(host, uid, gid, follow_symlinks=not symlink)
            if not symlink:
                os.chmod(host, member.mode & 0o7777)
            os.utime(host, (member.mtime, member.mtime), follow_symlinks=not symlink)
    return True


def copy_into(source_root: Path, target_root: Path, request: CopyRequest) -> list[SourceMatch]:
    """Perform ``request`` from ``source_root`` (context dir or a root filesystem) into
    ``target_root`` (a writable snapshot's root). Returns the sources it read."""
    check_sources(request)
    copier = _Copier(target_root, request)
    dest, placements = copier.placements(source_root, target_root)
    if not placements and request.dest.endswith("/"):
        make_dirs(target_root, dest, *copier.parent_owner)
    for match, st, where, is_dir in placements:
        if is_dir:
            host = copier.target(where) if where != "/" else target_root
            copier.tree(match.host, host, keep_existing_meta=True)
        elif request.unpack_archives and _unpack(copier, match.host, dest):
            continue
        else:
            if request.excludes and copier._excluded(os.path.basename(match.path)):
                continue
            copier.entry(match.host, copier.target(where), st)
    return [placement[0] for placement in placements]
