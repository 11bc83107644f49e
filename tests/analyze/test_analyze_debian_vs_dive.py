"""``dockyard analyze`` against dive on Debian images: the debootstrapped base as it is (clean),
and a wasteful image docker builds from it (apt lists and .debs left behind, files of the base
deleted and overwritten in later layers)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from _infra import DockerDaemon, image_id, save_image
from _infra._debian import debian_rootfs_tarball
from _infra.analyze_helpers import (
    SavedImage,
    analyze_json,
    assert_matches_dive,
    build_image,
    load_into,
    run_dive,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

BASE = "dockyard-test/debian-minbase:bookworm"
WASTEFUL = "dockyard-test/analyze-debian-wasteful:1"
# apt-get in RUN reaches the mirror over the host network (the test dockerd has no bridge)
WASTEFUL_DOCKERFILE = f"""\
FROM {BASE}
RUN apt-get update && apt-get install -y --no-install-recommends less
RUN rm -rf /usr/share/doc /usr/share/info /var/cache/apt/pkgcache.bin
RUN echo "# changed" >> /etc/bash.bashrc && echo 1 > /etc/debian_version
"""


@pytest.fixture(scope="module")
def debian_images(
    dockerd: DockerDaemon, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, SavedImage]:
    work = tmp_path_factory.mktemp("analyze-debian")
    dockerd.run(
        "import", "--change", 'CMD ["bash"]', str(debian_rootfs_tarball()), BASE, timeout=600
    )
    clean = SavedImage(BASE, image_id(dockerd, BASE), save_image(dockerd, BASE, work / "clean.tar"))
    built = build_image(dockerd, work / "wasteful", WASTEFUL, WASTEFUL_DOCKERFILE, {}, "host")
    wasteful = SavedImage(
        built.ref, built.id, save_image(dockerd, built.ref, work / "wasteful.tar")
    )
    return {"clean": clean, "wasteful": wasteful}


def _layer_files(archive: Path, index: int) -> dict[str, int]:
    """Regular files (path → size) of layer ``index`` of a ``docker save`` archive."""
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        member = outer.extractfile(manifest[0]["Layers"][index])
        assert member is not None
        with tarfile.open(fileobj=member, mode="r:*") as layer:
            return {m.name.lstrip("./"): m.size for m in layer if m.isreg()}


@pytest.mark.parametrize("which", ["clean", "wasteful"])
def test_analyze_matches_dive_on_debian(
    which: str, debian_images: dict[str, SavedImage], dockyard_root: Path, tmp_path: Path
) -> None:
    image = debian_images[which]
    _, dive, _ = run_dive(image.archive, tmp_path / "dive.json")
    load_into(dockyard_root, image.archive)
    ours = analyze_json(dockyard_root, image.ref)
    assert_matches_dive(dive, ours)
    assert ours["sizeBytes"] > 50_000_000  # a whole Debian userland, not a toy
    if which == "clean":
        assert ours["wastedBytes"] == 0 and ours["efficiency"] == 1.0
        assert [a["code"] for a in ours["advice"] if a["code"] != "large-base"] == []
    else:
        assert len(ours["layers"]) == 4
        assert ours["wastedBytes"] > 1_000_000
        assert ours["efficiency"] < 1.0


def test_advice_names_the_apt_lists_left_in_the_layer(
    debian_images: dict[str, SavedImage], dockyard_root: Path
) -> None:
    image = debian_images["wasteful"]
    load_into(dockyard_root, image.archive)
    ours = analyze_json(dockyard_root, image.ref)
    # ground truth from the layer tar itself: the lists `apt-get update` wrote in layer 1
    files = _layer_files(image.archive, 1)
    lists = {
        path: size
        for path, size in files.items()
        if path.startswith("var/lib/apt/lists/")
        and not path.startswith(("var/lib/apt/lists/partial/", "var/lib/apt/lists/lock"))
    }
    assert sum(lists.values()) > 1_000_000, sorted(files)[:20]
    caches: dict[str, Any] = {
        a["message"].split(" of ", 1)[1].split(" (")[0]: a
        for a in ours["advice"]
        if a["code"] == "cache-left-in-layer"
    }
    apt = caches["apt package lists"]
    assert apt["layer"] == 1
    assert apt["sizeBytes"] == sum(lists.values())
    assert apt["paths"] == ["/var/lib/apt/lists"]
    assert f"apt package lists ({len(lists)} files)" in apt["message"]
    assert "apt-get update" in apt["message"]
    assert "rm -rf /var/lib/apt/lists/*" in apt["message"]
    # the .deb apt-get downloaded stays in /var/cache/apt/archives (no docker-clean hook here)
    debs = [p for p in files if p.startswith("var/cache/apt/archives/") and p.endswith(".deb")]
    archives = caches["apt package archives"]
    assert debs and archives["layer"] == 1 and archives["paths"] == ["/var/cache/apt/archives"]
    deleted = {
        p for a in ours["advice"] if a["code"] == "deleted-in-later-layer" for p in a["paths"]
    }
    assert "/usr/share/doc" in deleted
