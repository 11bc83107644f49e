"""Images for the analyze tests: built by the real docker, saved, and read by dive and dockyard."""

from __future__ import annotations

import pytest

from _infra import BuiltImage, DockerDaemon, pattern_bytes, save_image
from _infra.analyze_helpers import (
    CLEAN_DOCKERFILE,
    WASTEFUL_DOCKERFILE,
    SavedImage,
    build_image,
)


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
