"""Build rich directory trees and describe them completely, to compare trees after round trips."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
import tarfile
from pathlib import Path

# security.capability v2 with cap_net_raw permitted and effective
CAPABILITY = struct.pack("<IIIII", 0x02000001, 1 << 13, 0, 0, 0)

Entry = tuple[object, ...]


def snapshot(root: Path, *, mtimes: bool = True, dir_mtimes: bool = True) -> dict[str, Entry]:
    """Everything a layer should preserve about each path below ``root``."""
    out: dict[str, Entry] = {}
    inodes: dict[tuple[int, int], str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            st = os.lstat(path)
            xattrs = tuple(
                sorted(
                    (n, os.getxattr(path, n, follow_symlinks=False))
                    for n in os.listxattr(path, follow_symlinks=False)
                    if n.startswith(("user.", "security.capability"))
                )
            )
            if stat.S_ISREG(st.st_mode):
                data: object = hashlib.sha256(path.read_bytes()).hexdigest()
                link = inodes.setdefault((st.st_dev, st.st_ino), rel)
            elif stat.S_ISLNK(st.st_mode):
                data, link = os.readlink(path), ""
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                data, link = st.st_rdev, ""
            else:
                data, link = None, ""
            keep_mtime = mtimes and (dir_mtimes or not stat.S_ISDIR(st.st_mode))
            out[rel] = (
                stat.S_IFMT(st.st_mode),
                stat.S_IMODE(st.st_mode),
                st.st_uid,
                st.st_gid,
                st.st_mtime_ns // 1_000_000_000 if keep_mtime else None,
                data,
                link,
                xattrs,
            )
    return out


def _touch(path: Path, mtime: int) -> None:
    os.utime(path, (mtime, mtime), follow_symlinks=False)


def make_rich_tree(root: Path) -> Path:
    """A tree with every kind of entry and metadata a layer carries (run as root)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "etc").mkdir()
    (root / "etc" / "hostname").write_text("dockyard\n")
    (root / "etc" / "shadow").write_text("root:*:1::::::\n")
    os.chmod(root / "etc" / "shadow", 0o640)
    os.chown(root / "etc" / "shadow", 0, 42)
    (root / "bin").mkdir()
    (root / "bin" / "su").write_bytes(b"\x7fELF" + bytes(range(256)) * 40)
    os.chmod(root / "bin" / "su", 0o4755)
    (root / "bin" / "ping").write_bytes(b"ping")
    os.setxattr(root / "bin" / "ping", "security.capability", CAPABILITY)
    os.link(root / "bin" / "su", root / "bin" / "su-hardlink")
    os.symlink("su", root / "bin" / "relative-link")
    os.symlink("/etc/hostname", root / "bin" / "absolute-link")
    (root / "home" / "user").mkdir(parents=True)
    (root / "home" / "user" / "notes").write_text("x" * 5000)
    os.chown(root / "home" / "user", 1000, 1000)
    os.chown(root / "home" / "user" / "notes", 1000, 1000)
    os.setxattr(root / "home" / "user" / "notes", "user.comment", b"\x00\xffbinary")
    os.chmod(root / "home" / "user", 0o2750)
    (root / "tmp").mkdir()
    os.chmod(root / "tmp", 0o1777)
    (root / "empty").mkdir()
    (root / "readonly").mkdir()
    (root / "readonly" / "inside").write_text("in a read-only dir")
    os.chmod(root / "readonly", 0o555)
    os.mkfifo(root / "fifo", 0o600)
    os.mknod(root / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    (root / "ünïcödé-名前.txt").write_text("utf-8 name")
    deep = root / "d" / ("long-directory-name-" * 4) / ("long-file-name-" * 8)
    deep.parent.mkdir(parents=True)
    deep.write_text("long path")
    (root / "empty-file").touch()
    for path in sorted(root.rglob("*"), key=lambda p: -len(p.parts)):
        _touch(path, 1_600_000_000 + len(path.relative_to(root).parts))
    return root


def tar_bytes(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    """A tar built entry by entry (for hand-made, possibly hostile, layers)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return buf.getvalue()


def reg(name: str, data: bytes = b"data", mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.mode = mode
    info.mtime = 1_600_000_000
    return info, data


def dir_(name: str, mode: int = 0o755) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    info.mtime = 1_600_000_000
    return info, None


def link(name: str, target: str, *, hard: bool = False) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    info.mtime = 1_600_000_000
    return info, None


def special(name: str, kind: bytes) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = 0o666
    info.devmajor, info.devminor = 1, 3
    return info, None


#: mtime cap for layers of changed trees: below every "now", above every make_rich_tree mtime
CHANGED_CLAMP = 1_650_000_000


def change_tree(root: Path) -> None:
    """Change a :func:`make_rich_tree` tree in every way a layer records: a file deleted (a
    whiteout), a directory emptied and refilled (opaque), a file rewritten, a mode changed, a
    file replaced by a symlink, new files with hard links, symlinks and xattrs. Call it on a
    copy of the tree, or through an overlay mount of it; layers of the change clamp mtimes to
    :data:`CHANGED_CLAMP`."""
    os.unlink(root / "etc" / "shadow")
    for child in (root / "home" / "user").iterdir():
        child.unlink()
    (root / "home" / "user" / "fresh").write_text("a new start\n")
    os.chown(root / "home" / "user" / "fresh", 1000, 1000)
    (root / "bin" / "ping").write_bytes(b"pong")
    os.chmod(root / "tmp", 0o777)
    (root / "empty-file").unlink()
    os.symlink("etc/hostname", root / "empty-file")
    new = root / "opt" / "app"
    new.mkdir(parents=True)
    (new / "data").write_bytes(bytes(range(256)) * 20)
    os.chmod(new / "data", 0o600)
    os.link(new / "data", new / "data-link")
    os.symlink("data", new / "alias")
    (new / "tagged").write_text("tagged\n")
    os.setxattr(new / "tagged", "user.tag", b"yes")
