"""Paths inside a root filesystem, resolved as the container would see them.

A symlink in the image is resolved against the image's root, never the host's: ``..`` stops at
the root and an absolute target starts from it (what Docker's ``FollowSymlinkInScope`` does).
So nothing a build writes through a path from a Dockerfile can land outside the snapshot.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from dockyard.errors import InvalidArgument

__all__ = ["clean_path", "make_dirs", "resolve_in_root"]

_MAX_LINKS = 255


def clean_path(path: str, cwd: str = "/") -> str:
    """``path`` made absolute (relative to ``cwd``) and normalised, without following links."""
    joined = posixpath.join(cwd, path) if not path.startswith("/") else path
    return posixpath.normpath("/" + joined.lstrip("/"))


def resolve_in_root(root: Path, path: str, *, follow_last: bool = True) -> Path:
    """The host path of ``path`` inside ``root``, with every symlink resolved within ``root``.

    Missing components are allowed (they are kept as they are); ``follow_last=False`` leaves a
    final symlink itself (for creating or replacing it).
    """
    parts = [p for p in clean_path(path).split("/") if p]
    resolved: list[str] = []
    links = 0
    while parts:
        name = parts.pop(0)
        if name == ".":
            continue
        if name == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, name)
        if not parts and not follow_last:
            resolved.append(name)
            break
        try:
            target = os.readlink(candidate)
        except (FileNotFoundError, NotADirectoryError, OSError):
            resolved.append(name)
            continue
        links += 1
        if links > _MAX_LINKS:
            raise InvalidArgument(f"too many levels of symbolic links resolving {path!r}")
        if target.startswith("/"):
            resolved = []
        parts = [p for p in target.split("/") if p] + parts
    return root.joinpath(*resolved)


def make_dirs(root: Path, path: str, uid: int = 0, gid: int = 0, mode: int = 0o755) -> Path:
    """``mkdir -p`` of ``path`` inside ``root``; directories made here get ``uid:gid``/``mode``."""
    current = "/"
    host = root
    for part in clean_path(path).strip("/").split("/"):
        if not part:
            continue
        current = current.rstrip("/") + "/" + part
        host = resolve_in_root(root, current)
        if not os.path.lexists(host):
            os.makedirs(host, mode)  # a symlink resolved inside the root may need parents too
            os.chown(host, uid, gid)
            os.chmod(host, mode)
        elif not host.is_dir():
            raise InvalidArgument(f"cannot create directory {current}: a file is in the way")
    return host
