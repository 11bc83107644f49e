"""BitTorrent v2 metainfo (BEP 52) for one blob, computed from a stream of its bytes.

A v2 torrent names its content by SHA-256 merkle trees over 16 KiB blocks: each file has a
``pieces root`` (the tree's root, in the info dictionary, so in the info-hash) and a
``piece layer`` (the tree's nodes one per piece, outside the info dictionary) that lets a
peer verify every piece it receives. Everything here is pure: hashlib and a bencoder, so the
registry serves torrents without libtorrent installed; libtorrent loads what it builds
(``tests/p2p/test_p2p_metainfo.py`` checks both against libtorrent's own ``create_torrent``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, TypeAlias

from dockyard.errors import InvalidArgument

__all__ = [
    "BLOCK",
    "Bencodable",
    "BlobTorrent",
    "bdecode",
    "bencode",
    "hash_blob",
    "merkle_root",
    "piece_length_for",
]

#: BEP 52's leaf size: the merkle trees hash 16 KiB blocks.
BLOCK = 16 << 10
#: Pieces are at least this long (fewer, larger requests) and at most MAX_PIECE.
MIN_PIECE = 64 << 10
MAX_PIECE = 4 << 20
#: A blob is cut into about this many pieces at most before pieces grow.
TARGET_PIECES = 1024
_ZERO = bytes(32)

Bencodable: TypeAlias = "int | bytes | str | list[Bencodable] | dict[bytes, Bencodable]"


def piece_length_for(size: int) -> int:
    """A power of two from 64 KiB to 4 MiB giving at most about 1024 pieces."""
    length = MIN_PIECE
    while length < MAX_PIECE and size > length * TARGET_PIECES:
        length *= 2
    return length


def _pad_hash(levels: int) -> bytes:
    """The root of a subtree of ``2**levels`` zero leaves (BEP 52's padding)."""
    h = _ZERO
    for _ in range(levels):
        h = hashlib.sha256(h + h).digest()
    return h


def merkle_root(hashes: Sequence[bytes], width: int, pad: bytes = _ZERO) -> bytes:
    """The root over ``hashes`` padded with ``pad`` to ``width`` (a power of two) leaves."""
    if width & (width - 1) or width < len(hashes):
        raise ValueError(f"width {width} is not a power of two of at least {len(hashes)}")
    layer = list(hashes) + [pad] * (width - len(hashes))
    while len(layer) > 1:
        pad = hashlib.sha256(pad + pad).digest()
        layer = [hashlib.sha256(layer[i] + layer[i + 1]).digest() for i in range(0, len(layer), 2)]
    return layer[0]


def _next_pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


@dataclass(frozen=True, slots=True)
class BlobTorrent:
    """The content-derived part of a blob's torrent: what every request for it shares."""

    #: the blob's hex digest (sha256), also the torrent's file name
    name: str
    size: int
    piece_length: int
    pieces_root: bytes
    #: the piece-level hashes, concatenated (empty when the blob fits in one piece)
    piece_layer: bytes

    def info(self) -> dict[bytes, Bencodable]:
        """The v2 info dictionary (its SHA-256 is the info-hash)."""
        return {
            b"file tree": {
                self.name.encode(): {b"": {b"length": self.size, b"pieces root": self.pieces_root}}
            },
            b"meta version": 2,
            b"name": self.name.encode(),
            b"piece length": self.piece_length,
        }

    def info_hash(self) -> bytes:
        return hashlib.sha256(bencode(self.info())).digest()

    def metainfo(self, *, web_seeds: Sequence[str] = (), trackers: Sequence[str] = ()) -> bytes:
        """The bencoded ``.torrent``: the info, the piece layers, web seeds (BEP 19) and
        trackers (BEP 12's announce-list, one tier each). Neither changes the info-hash."""
        top: dict[bytes, Bencodable] = {b"info": self.info()}
        if self.piece_layer:
            top[b"piece layers"] = {self.pieces_root: self.piece_layer}
        if trackers:
            top[b"announce"] = trackers[0].encode()
            top[b"announce-list"] = [[t.encode()] for t in trackers]
        if web_seeds:
            top[b"url-list"] = [u.encode() for u in web_seeds]
        return bencode(top)

    def to_record(self) -> bytes:
        """A compact bencoded form for caching (see :meth:`from_record`)."""
        return bencode(
            {
                b"name": self.name.encode(),
                b"size": self.size,
                b"piece length": self.piece_length,
                b"pieces root": self.pieces_root,
                b"piece layer": self.piece_layer,
            }
        )

    @classmethod
    def from_record(cls, data: bytes) -> BlobTorrent:
        d = bdecode(data)
        if not isinstance(d, dict):
            raise InvalidArgument("a cached torrent record is not a dictionary")
        name, size, plen = d.get(b"name"), d.get(b"size"), d.get(b"piece length")
        root, layer = d.get(b"pieces root"), d.get(b"piece layer")
        if not (
            isinstance(name, bytes)
            and isinstance(size, int)
            and isinstance(plen, int)
            and isinstance(root, bytes)
            and isinstance(layer, bytes)
        ):
            raise InvalidArgument("a cached torrent record lacks a field")
        return cls(name.decode(), size, plen, root, layer)


def hash_blob(
    name: str, chunks: Iterable[bytes], size: int, piece_length: int | None = None
) -> BlobTorrent:
    """The merkle tree of a blob of ``size`` bytes read from ``chunks`` (any sizes), in one
    pass and with one piece in memory at a time."""
    if size <= 0:
        raise InvalidArgument("an empty blob has no torrent (BEP 52 gives it no pieces)")
    plen = piece_length or piece_length_for(size)
    if plen < BLOCK or plen & (plen - 1):
        raise InvalidArgument(f"piece length {plen} is not a power of two of at least 16 KiB")
    per_piece = plen // BLOCK
    leaves: list[bytes] = []
    pieces: list[bytes] = []
    buf = bytearray()
    seen = 0

    def flush_piece() -> None:
        pieces.append(merkle_root(leaves, per_piece))
        leaves.clear()

    for chunk in chunks:
        seen += len(chunk)
        if seen > size:
            raise InvalidArgument(f"blob {name} is longer than its {size} bytes")
        buf += chunk
        while len(buf) >= BLOCK:
            leaves.append(hashlib.sha256(buf[:BLOCK]).digest())
            del buf[:BLOCK]
            if len(leaves) == per_piece:
                flush_piece()
    if seen != size:
        raise InvalidArgument(f"blob {name} has {seen} bytes, not its recorded {size}")
    if buf:
        leaves.append(hashlib.sha256(buf).digest())
    if size <= plen:  # one piece: the tree is as wide as the file's blocks, no piece layer
        root = pieces[0] if pieces else merkle_root(leaves, _next_pow2(len(leaves)))
        return BlobTorrent(name, size, plen, root, b"")
    if leaves:
        flush_piece()
    pad = _pad_hash(per_piece.bit_length() - 1)
    root = merkle_root(pieces, _next_pow2(len(pieces)), pad)
    return BlobTorrent(name, size, plen, root, b"".join(pieces))


def read_chunks(f: BinaryIO, chunk: int = 1 << 20) -> Iterable[bytes]:
    """``f``'s bytes in chunks, to its end."""
    while data := f.read(chunk):
        yield data


# --- bencoding (BEP 3) -------------------------------------------------------------------


def bencode(value: Bencodable) -> bytes:
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def _encode(value: Bencodable, out: list[bytes]) -> None:
    if isinstance(value, bool):
        raise InvalidArgument("bencoding has no booleans")
    if isinstance(value, int):
        out.append(b"i%de" % value)
    elif isinstance(value, bytes | str):
        raw = value.encode() if isinstance(value, str) else value
        out.append(b"%d:" % len(raw))
        out.append(raw)
    elif isinstance(value, list):
        out.append(b"l")
        for item in value:
            _encode(item, out)
        out.append(b"e")
    elif isinstance(value, dict):
        out.append(b"d")
        for key in sorted(value):
            _encode(key, out)
            _encode(value[key], out)
        out.append(b"e")
    else:
        raise InvalidArgument(f"cannot bencode a {type(value).__name__}")


def bdecode(data: bytes) -> Bencodable:
    value, end = _decode(data, 0)
    if end != len(data):
        raise InvalidArgument("bencoded data has trailing bytes")
    return value


def _decode(data: bytes, i: int) -> tuple[Bencodable, int]:
    try:
        c = data[i : i + 1]
        if c == b"i":
            end = data.index(b"e", i)
            return int(data[i + 1 : end]), end + 1
        if c == b"l":
            items: list[Bencodable] = []
            i += 1
            while data[i : i + 1] != b"e":
                item, i = _decode(data, i)
                items.append(item)
            return items, i + 1
        if c == b"d":
            d: dict[bytes, Bencodable] = {}
            i += 1
            while data[i : i + 1] != b"e":
                key, i = _decode(data, i)
                if not isinstance(key, bytes):
                    raise InvalidArgument("a bencoded dictionary key is not a string")
                d[key], i = _decode(data, i)
            return d, i + 1
        if c.isdigit():
            colon = data.index(b":", i)
            n = int(data[i:colon])
            start = colon + 1
            if start + n > len(data):
                raise InvalidArgument("a bencoded string runs past the end")
            return data[start : start + n], start + n
    except (ValueError, IndexError) as exc:
        raise InvalidArgument(f"invalid bencoded data at byte {i}: {exc}") from None
    raise InvalidArgument(f"invalid bencoded data at byte {i}")
