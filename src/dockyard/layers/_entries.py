"""What a layer entry is: names, whiteout markers, and the xattrs carried in PAX records."""

from __future__ import annotations

import errno
import os
import tarfile
from pathlib import Path

__all__ = [
    "OPAQUE_MARKER",
    "WHITEOUT_PREFIX",
    "XATTR_PAX_PREFIX",
    "read_xattrs",
    "xattrs_from_pax",
    "xattrs_to_pax",
]

#: A file ``.wh.<name>`` in a layer deletes ``<name>`` from the layers below.
WHITEOUT_PREFIX = ".wh."
#: A file ``.wh..wh..opq`` in a directory hides everything the layers below put there.
OPAQUE_MARKER = ".wh..wh..opq"
#: PAX record prefix for extended attributes (the convention GNU tar, Go and libarchive read).
XATTR_PAX_PREFIX = "SCHILY.xattr."
#: Extended attributes that belong to a file's content and travel in layers. SELinux labels,
#: ACLs and trusted.* describe the host and are left out, as Docker and BuildKit do.
_KEPT_XATTRS = ("user.", "security.capability")
_NO_XATTRS = {errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENODATA, errno.EPERM}


def read_xattrs(path: Path) -> dict[str, bytes]:
    """The layer-worthy extended attributes of ``path`` (not following a symlink), sorted."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in _NO_XATTRS:
            return {}
        raise
    out: dict[str, bytes] = {}
    for name in sorted(names):
        if not name.startswith(_KEPT_XATTRS):
            continue
        try:
            out[name] = os.getxattr(path, name, follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in _NO_XATTRS:
                raise
    return out


def xattrs_to_pax(xattrs: dict[str, bytes]) -> dict[str, str]:
    """PAX records for ``xattrs``; binary values survive via ``surrogateescape``."""
    return {
        XATTR_PAX_PREFIX + name: value.decode("utf-8", "surrogateescape")
        for name, value in sorted(xattrs.items())
    }


def xattrs_from_pax(info: tarfile.TarInfo) -> dict[str, bytes]:
    """The extended attributes a tar entry carries (``SCHILY.xattr.*`` PAX records)."""
    return {
        key[len(XATTR_PAX_PREFIX) :]: value.encode("utf-8", "surrogateescape")
        for key, value in info.pax_headers.items()
        if key.startswith(XATTR_PAX_PREFIX)
    }
