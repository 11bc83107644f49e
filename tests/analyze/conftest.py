"""Images for the analyze tests: built by the real docker, saved, and read by dive and dockyard."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _analyze_helpers import (  # noqa: E402
    CLEAN_DOCKERFILE,
    WASTEFUL_DOCKERFILE,
    SavedImage,
    build_image,
)

from _infra import BuiltImage, DockerDaemon, pattern_bytes, save_image  # noqa: E402


@pytest.fixture(scope="session")
def clean_image(
    dockerd: DockerDaemon, busybox_image: BuiltImage, tmp_path_factory: pytest.TempPathFactory
) -> SavedImage:
    work = tmp_path_factory.mktemp("clean")
    built = build_image(
        dockerd,
        work,
        "dockyard-test/analyze-clean:1",
        CLEAN_DOCKERFILE.format(base=busybox_image.ref),
        {"app.bin": pattern_bytes(3_000_000, "app"), "config.txt": b"key=value\n"},
    )
    return SavedImage(built.ref, built.id, save_image(dockerd, built.ref, work / "clean.tar"))


@pytest.fixture(scope="session")
def wasteful_image(
    dockerd: DockerDaemon, busybox_image: BuiltImage, tmp_path_factory: pytest.TempPathFactory
) -> SavedImage:
    work = tmp_path_factory.mktemp("wasteful")
    built = build_image(
        dockerd,
        work,
        "dockyard-test/analyze-wasteful:1",
        WASTEFUL_DOCKERFILE.format(base=busybox_image.ref),
        {"big.bin": pattern_bytes(2_500_000, "big")},
    )
    return SavedImage(built.ref, built.id, save_image(dockerd, built.ref, work / "wasteful.tar"))
