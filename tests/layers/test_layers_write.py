from __future__ import annotations

import gzip
import io
import os
from pathlib import Path
from typing import BinaryIO

import pytest
import zstandard

from _infra.layer_trees import make_rich_tree, snapshot
from dockyard.content import ContentStore
from dockyard.digest import digest_of
from dockyard.layers import Compression, apply_layer, tar_diff, tar_directory, write_layer

pytestmark = [
    pytest.mark.privileged,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, mknod, caps)"),
]


def _plain(tree: Path) -> bytes:
    buf = io.BytesIO()
    tar_directory(tree, buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("kind", "media_type"),
    [
        ("gzip", "application/vnd.oci.image.layer.v1.tar+gzip"),
        ("zstd", "application/vnd.oci.image.layer.v1.tar+zstd"),
        (None, "application/vnd.oci.image.layer.v1.tar"),
    ],
)
def test_write_layer_from_directory(
    tmp_path: Path, kind: Compression | None, media_type: str
) -> None:
    tree = make_rich_tree(tmp_path / "tree")
    store = ContentStore(tmp_path / "store")
    blob = write_layer(tree, store, kind)
    stored = store.read_bytes(blob.digest)
    assert blob.media_type == media_type
    assert blob.size == len(stored)
    assert blob.digest == digest_of(stored)
    plain = _plain(tree)
    assert blob.diff_id == digest_of(plain)
    assert blob.uncompressed_size == len(plain)
    if kind == "gzip":
        assert gzip.decompress(stored) == plain
    elif kind == "zstd":
        assert zstandard.ZstdDecompressor().decompressobj().decompress(stored) == plain
    with store.open(blob.digest) as f:
        stats = apply_layer(f, tmp_path / "applied", expected_diff_id=blob.diff_id)
    assert stats.diff_id == blob.diff_id
    assert snapshot(tmp_path / "applied") == snapshot(tree)
    assert write_layer(tree, store, kind) == blob  # deterministic, and "already there" is fine


def test_write_layer_from_a_writer_function_and_a_stream(tmp_path: Path) -> None:
    lower = tmp_path / "lower"
    lower.mkdir()
    (lower / "old").write_text("old")
    upper = tmp_path / "upper"
    upper.mkdir()
    (upper / "new").write_text("new")
    store = ContentStore(tmp_path / "store")

    def diff(out: BinaryIO) -> None:
        tar_diff(lower, upper, out)

    blob = write_layer(diff, store, "zstd")
    with store.open(blob.digest) as f:
        apply_layer(f, lower)
    assert sorted(p.name for p in lower.iterdir()) == ["new"]

    plain = _plain(upper)
    again = write_layer(io.BytesIO(plain), store, "gzip")
    assert again.diff_id == digest_of(plain)


def test_failed_source_leaves_nothing_in_the_store(tmp_path: Path) -> None:
    store = ContentStore(tmp_path / "store")

    def broken(out: BinaryIO) -> None:
        out.write(b"partial")
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError):
        write_layer(broken, store)
    assert list(store.walk()) == []
