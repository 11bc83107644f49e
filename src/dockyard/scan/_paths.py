"""Where a layer member's name puts it in the image: one absolute path under the image's root.

Tar member names in layers are relative (``etc/passwd``, ``./etc/passwd``), but hostile or
sloppy tools also write ``/etc/passwd``, ``//etc//passwd`` or ``../../etc/passwd``. A scanner
reads all of them the way a runtime extracting the layer into its root would see them: leading
``/`` and ``./`` dropped, ``..`` resolved without climbing above the root. The walk is one pass
over the name's components, so no name can make it loop. (The layer applier in
:mod:`dockyard.layers` refuses such names instead: it writes files, a scan only reads them.)
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument

__all__ = ["PATH_MAX", "member_path"]

#: Linux's limit on a path's length, terminating NUL included
PATH_MAX = 4096


def member_path(name: str) -> str:
    """``name`` as an absolute, normalised path inside the image (``/`` for the root itself).

    Raises :class:`InvalidArgument` for a name holding a NUL byte, or longer than ``PATH_MAX``
    once normalised: no file system holds such a path, and the layer walk stays linear.
    """
    if "\x00" in name:
        raise InvalidArgument(
            f"layer entry {name!r} has a NUL byte in its name: the image is malformed or hostile"
        )
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    path = "/" + "/".join(parts)
    if len(path.encode("utf-8", "surrogateescape")) >= PATH_MAX:
        raise InvalidArgument(
            f"layer entry {name[:80]!r}… has a path of {len(path):,} characters, longer than "
            f"any file system allows ({PATH_MAX}): the image is malformed or hostile"
        )
    return path
