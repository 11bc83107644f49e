"""Values of a Berkeley DB hash database (the classic rpmdb ``Packages`` file), no library.

Layout (db-5.3 ``dbinc/db_page.h``): page 0 is the metadata page (magic 0x061561 for hash, page
size at byte 20); hash pages (types 2 and 13) hold an index of item offsets after a 26-byte page
header, items alternating key/value; rpm headers are large, so values are off-page items
(type 3: page number + length) whose bytes run along a chain of overflow pages.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from dockyard.errors import InvalidArgument

__all__ = ["iter_hash_values"]

_HASH_MAGIC = 0x061561
_HEADER = 26
_P_HASH_UNSORTED, _P_HASH, _P_OVERFLOW = 2, 13, 7
_H_KEYDATA, _H_OFFPAGE = 1, 3


def iter_hash_values(db: bytes) -> Iterator[bytes]:
    if len(db) < 512:
        raise InvalidArgument("Berkeley DB file is too short")
    for order in ("<", ">"):
        if struct.unpack_from(order + "I", db, 12)[0] == _HASH_MAGIC:
            break
    else:
        raise InvalidArgument("not a Berkeley DB hash database (bad magic)")
    page_size = struct.unpack_from(order + "I", db, 20)[0]
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        raise InvalidArgument(f"Berkeley DB page size {page_size} is invalid")
    pages = len(db) // page_size
    for pgno in range(1, pages):
        page = db[pgno * page_size : (pgno + 1) * page_size]
        if page[25] not in (_P_HASH, _P_HASH_UNSORTED):
            continue
        entries = struct.unpack_from(order + "H", page, 20)[0]
        offsets = struct.unpack_from(order + f"{entries}H", page, _HEADER)
        for i in range(1, entries, 2):
            off = offsets[i]
            kind = page[off]
            if kind == _H_OFFPAGE:
                first, length = struct.unpack_from(order + "II", page, off + 4)
                yield _overflow(db, page_size, order, first, length)
            elif kind == _H_KEYDATA:
                end = offsets[i - 1] if i > 0 else page_size  # items grow down the page
                yield page[off + 1 : end]


def _overflow(db: bytes, page_size: int, order: str, pgno: int, length: int) -> bytes:
    out = bytearray()
    seen = set()
    while pgno and len(out) < length:
        if pgno in seen or pgno * page_size >= len(db):
            raise InvalidArgument("Berkeley DB overflow chain is broken")
        seen.add(pgno)
        page = db[pgno * page_size : (pgno + 1) * page_size]
        if page[25] != _P_OVERFLOW:
            raise InvalidArgument(f"Berkeley DB page {pgno} is not an overflow page")
        nxt = struct.unpack_from(order + "I", page, 16)[0]
        used = struct.unpack_from(order + "H", page, 22)[0]  # hf_offset: bytes on this page
        out += page[_HEADER : _HEADER + used]
        pgno = nxt
    return bytes(out[:length])
