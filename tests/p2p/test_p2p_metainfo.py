"""Blob torrents built from a stream equal what libtorrent builds from the same bytes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.p2p import BlobTorrent, bdecode, bencode, hash_blob, piece_length_for
from dockyard.p2p.metainfo import Bencodable

lt = pytest.importorskip("libtorrent")


def libtorrent_torrent(path: Path, piece_length: int) -> dict[bytes, object]:
    cwd = Path.cwd()
    os.chdir(path.parent)  # list_files names files as given
    try:
        files = lt.list_files(path.name)
    finally:
        os.chdir(cwd)
    creator = lt.create_torrent(files, piece_length, lt.create_torrent.v2_only)
    lt.set_piece_hashes(creator, str(path.parent))
    generated: dict[bytes, object] = creator.generate()
    return generated


@pytest.mark.parametrize(
    "size",
    [1, 16383, 16384, 65535, 65536, 65537, 5 * 16384 + 7, 4 * 65536, 1_000_003],
)
def test_trees_match_libtorrents_own(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "blob"
    path.write_bytes(data)
    plen = piece_length_for(size)
    theirs = libtorrent_torrent(path, plen)
    # odd chunk sizes: the tree does not depend on how the stream is cut
    chunks = [data[i : i + 9999] for i in range(0, size, 9999)]
    ours = hash_blob("blob", chunks, size)
    assert ours.info() == theirs[b"info"]
    layers = theirs.get(b"piece layers") or {}
    assert layers == ({ours.pieces_root: ours.piece_layer} if ours.piece_layer else {})
    raw = ours.metainfo(web_seeds=["http://r/x"], trackers=["http://t/a"])
    assert str(lt.torrent_info(raw).info_hashes().v2) == ours.info_hash().hex()
    params = lt.load_torrent_buffer(raw)
    # libtorrent pads a v2 file to whole pieces; padded, it reads the seed as a directory
    padded = lt.torrent_info(raw).num_files() > 1
    assert list(params.url_seeds) == ["http://r/x/" if padded else "http://r/x"]
    assert list(params.trackers) == ["http://t/a"]


def test_piece_lengths_grow_with_the_blob() -> None:
    assert piece_length_for(1) == 64 << 10
    assert piece_length_for(64 << 20) == 64 << 10
    assert piece_length_for(65 << 20) == 128 << 10
    assert piece_length_for(100 << 30) == 4 << 20


def test_records_round_trip_and_bencoding_is_strict() -> None:
    torrent = hash_blob("ab", [b"x" * 200_000], 200_000)
    assert BlobTorrent.from_record(torrent.to_record()) == torrent
    value: Bencodable = {b"a": [1, b"two", {b"c": -3}], b"b": b""}
    assert bdecode(bencode(value)) == value
    for bad in (b"i1", b"d1:ae", b"5:abc", b"i1ei2e", b"x"):
        with pytest.raises(InvalidArgument):
            bdecode(bad)


def test_a_stream_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="not its recorded"):
        hash_blob("x", [b"abc"], 4)
    with pytest.raises(InvalidArgument, match="longer"):
        hash_blob("x", [b"abcde"], 4)
    with pytest.raises(InvalidArgument, match="empty"):
        hash_blob("x", [], 0)
