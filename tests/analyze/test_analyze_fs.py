"""The layer-by-layer filesystem: what a whiteout removes, and which layer it credits."""

from __future__ import annotations

from dockyard.analyze._fs import apply_layer, new_root
from dockyard.analyze._tarscan import TarEntry


def entry(path: str, size: int = 0, *, directory: bool = False) -> TarEntry:
    kind = "5" if directory else "0"
    return TarEntry(path, kind, size, 0o755, 0, 0, "", directory, None)


def test_a_deleted_directory_is_credited_to_the_layer_that_wrote_its_bytes() -> None:
    root = new_root()
    # layer 0 writes 3 MB under /opt/tree; layer 1 only touches the directory entry (chmod)
    apply_layer(
        root,
        [
            entry("opt", directory=True),
            entry("opt/tree", directory=True),
            entry("opt/tree/a", 2_000_000),
            entry("opt/tree/b", 1_000_000),
        ],
        0,
    )
    apply_layer(root, [entry("opt/tree", directory=True), entry("opt/tree/small", 10)], 1)
    removed = apply_layer(root, [entry("opt/.wh.tree")], 2)
    assert [(r.path, r.added_in, r.files, r.size) for r in removed.removals] == [
        ("opt/tree", 0, 3, 3_000_010)
    ]
    assert (removed.removed_files, removed.removed_bytes) == (3, 3_000_010)


def test_a_deleted_file_and_an_empty_directory_keep_their_own_layer() -> None:
    root = new_root()
    apply_layer(root, [entry("data", directory=True), entry("data/big.bin", 5)], 0)
    apply_layer(root, [entry("empty", directory=True)], 1)
    removed = apply_layer(root, [entry(".wh.empty"), entry("data/.wh.big.bin")], 2)
    assert sorted((r.path, r.added_in) for r in removed.removals) == [
        ("data/big.bin", 0),
        ("empty", 1),
    ]
