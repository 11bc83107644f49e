"""Layer digests are pinned: the same tree gives the same layer bytes across releases.

A layer's diff_id is the sha256 of its tar, and build caches, pushed images and signatures all
name layers by it; a change to how entries are written (header fields, PAX records, order,
padding) would silently change every digest. These trees use every kind of entry and metadata
a layer carries, with fixed mtimes, owners and modes.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra.layer_trees import CHANGED_CLAMP, change_tree, make_rich_tree
from dockyard.layers import tar_diff, tar_directory

from .conftest import needs_root

pytestmark = needs_root

TREE = "sha256:8e586c3b583480a7d9bbdfbf74bbecf68f03c3fa618503e222a381ce5e84ac17"
TREE_CLAMPED = "sha256:12690bcabd113ec8e27c3bd668efbaaaef02d9e3e4807b413a89b5e05273b762"
DIFF = "sha256:7f927cff4119d7a355708ce23d9d3d25aee4795f66772b4ca136206b9fbb14bc"


@pytest.fixture(autouse=True)
def _umask() -> Iterator[None]:
    old = os.umask(0o022)  # modes of files the helpers create without an explicit chmod
    try:
        yield
    finally:
        os.umask(old)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_directory_layer_digest_is_pinned(tmp_path: Path) -> None:
    tree = make_rich_tree(tmp_path / "tree")
    plain, clamped = io.BytesIO(), io.BytesIO()
    tar_directory(tree, plain)
    tar_directory(tree, clamped, clamp_mtime=1_600_000_002)
    assert (_sha256(plain.getvalue()), _sha256(clamped.getvalue())) == (TREE, TREE_CLAMPED)


def test_tree_diff_layer_digest_is_pinned(tmp_path: Path) -> None:
    lower = make_rich_tree(tmp_path / "lower")
    upper = tmp_path / "upper"
    subprocess.run(["cp", "-a", str(lower), str(upper)], check=True)  # links, xattrs, owners
    change_tree(upper)
    out = io.BytesIO()
    tar_diff(lower, upper, out, clamp_mtime=CHANGED_CLAMP)
    assert _sha256(out.getvalue()) == DIFF
