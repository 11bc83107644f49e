"""``dockyard analyze`` against dive on the same images: the same efficiency, wasted bytes,
layer sizes and inefficient files."""

from __future__ import annotations

from pathlib import Path

import pytest

from _infra import run_dockyard
from _infra.analyze_helpers import (
    SavedImage,
    analyze_json,
    assert_matches_dive,
    load_into,
    run_dive,
)

pytestmark = pytest.mark.docker


@pytest.mark.parametrize("which", ["clean", "wasteful"])
def test_analyze_matches_dive(
    which: str,
    clean_image: SavedImage,
    wasteful_image: SavedImage,
    dockyard_root: Path,
    tmp_path: Path,
) -> None:
    image = clean_image if which == "clean" else wasteful_image
    _, dive, _ = run_dive(image.archive, tmp_path / "dive.json")
    load_into(dockyard_root, image.archive)
    ours = analyze_json(dockyard_root, image.ref)
    assert_matches_dive(dive, ours)
    if which == "clean":
        assert ours["wastedBytes"] == 0 and ours["efficiency"] == 1.0
    else:
        assert ours["wastedBytes"] > 4_000_000  # the test image really is wasteful
        assert ours["efficiency"] < 0.9


def test_advice_and_table_for_the_wasteful_image(
    wasteful_image: SavedImage, dockyard_root: Path
) -> None:
    load_into(dockyard_root, wasteful_image.archive)
    ours = analyze_json(dockyard_root, wasteful_image.ref)
    advice = {(a["code"], tuple(a["paths"])) for a in ours["advice"]}
    assert ("deleted-in-later-layer", ("/data/big.bin",)) in advice
    assert ("deleted-in-later-layer", ("/opt/tree",)) in advice
    caches = [a["message"] for a in ours["advice"] if a["code"] == "cache-left-in-layer"]
    assert any("pip cache" in m for m in caches), caches
    # apt lists were removed again (rm -rf /var/lib): not "left", but deleted later
    assert not any("apt package lists" in m for m in caches)
    layers = ours["layers"]
    assert layers[3]["removed"] == {"files": 1, "bytes": 2_500_000}  # RUN rm /data/big.bin
    assert layers[4]["removed"]["files"] == 2  # RUN rm -rf /opt/tree
    table = run_dockyard("analyze", wasteful_image.ref, root=dockyard_root).stdout
    assert "efficiency:" in table and "/data/big.bin" in table
    assert "rm /data/big.bin" in table and "[deleted-in-later-layer]" in table
