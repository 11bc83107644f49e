"""RPM header blobs (the values stored in every rpmdb backend) decoded into tags."""

from __future__ import annotations

import struct

from dockyard.errors import InvalidArgument

__all__ = ["TAGS", "header_files", "parse_header"]

#: rpmtag.h numbers of the tags a cataloger needs.
TAGS = {
    1000: "name",
    1001: "version",
    1002: "release",
    1003: "epoch",
    1011: "vendor",
    1014: "license",
    1022: "arch",
    1044: "sourcerpm",
    1047: "provides",
    5011: "modularitylabel",
}
_INT32, _STRING, _STRING_ARRAY, _I18NSTRING = 4, 6, 8, 9


def _cstr(data: bytes, offset: int) -> tuple[str, int]:
    end = data.index(b"\x00", offset)
    return data[offset:end].decode("utf-8", "replace"), end + 1


def parse_header(blob: bytes) -> dict[str, str | int | list[str]]:
    """The known tags of an rpmdb header blob (``il``, ``dl``, index entries, data store)."""
    if len(blob) < 8:
        raise InvalidArgument("rpm header blob is too short")
    il, dl = struct.unpack_from(">II", blob, 0)
    start = 8 + 16 * il
    if il > 100_000 or start + dl > len(blob):
        raise InvalidArgument("rpm header blob has an impossible index size")
    data = blob[start : start + dl]
    out: dict[str, str | int | list[str]] = {}
    for i in range(il):
        tag, kind, offset, count = struct.unpack_from(">iIiI", blob, 8 + 16 * i)
        name = TAGS.get(tag)
        if name is None or offset < 0 or offset >= len(data):
            continue
        if kind == _INT32 and count >= 1:
            out[name] = struct.unpack_from(">i", data, offset)[0]
        elif kind in (_STRING, _I18NSTRING):
            out[name] = _cstr(data, offset)[0]
        elif kind == _STRING_ARRAY:
            values = []
            pos = offset
            for _ in range(count):
                value, pos = _cstr(data, pos)
                values.append(value)
            out[name] = values
    return out


#: the file list's tags: directory index of each file, base names, directory names (and the
#: whole names of rpm before 4.1)
_DIRINDEXES, _BASENAMES, _DIRNAMES, _OLDFILENAMES = 1116, 1117, 1118, 1027


def header_files(blob: bytes) -> list[str]:
    """The paths an rpmdb header blob says its package installed (``BASENAMES`` joined to
    ``DIRNAMES`` by ``DIRINDEXES``, else ``OLDFILENAMES``)."""
    if len(blob) < 8:
        raise InvalidArgument("rpm header blob is too short")
    il, dl = struct.unpack_from(">II", blob, 0)
    start = 8 + 16 * il
    if il > 100_000 or start + dl > len(blob):
        raise InvalidArgument("rpm header blob has an impossible index size")
    data = blob[start : start + dl]
    strings: dict[int, list[str]] = {}
    indexes: list[int] = []
    for i in range(il):
        tag, kind, offset, count = struct.unpack_from(">iIiI", blob, 8 + 16 * i)
        if offset < 0 or offset >= len(data) or count > len(data):
            continue
        if tag == _DIRINDEXES and kind == _INT32 and offset + 4 * count <= len(data):
            indexes = list(struct.unpack_from(f">{count}i", data, offset))
        elif tag in (_BASENAMES, _DIRNAMES, _OLDFILENAMES) and kind == _STRING_ARRAY:
            values = []
            pos = offset
            for _ in range(count):
                value, pos = _cstr(data, pos)
                values.append(value)
            strings[tag] = values
    bases, dirs = strings.get(_BASENAMES, []), strings.get(_DIRNAMES, [])
    if bases and len(indexes) == len(bases):
        return [dirs[d] + b for d, b in zip(indexes, bases, strict=True) if 0 <= d < len(dirs)]
    return strings.get(_OLDFILENAMES, [])
