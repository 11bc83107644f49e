"""The store root is an OCI image layout that skopeo and umoci read."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from _infra.store_images import build_image
from dockyard.local import LocalStore
from dockyard.reference import Reference


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; run `make system-deps`", pytrace=False)
    return path


def _store_with_image(root: Path) -> tuple[LocalStore, str]:
    store = LocalStore.open(root)
    image = build_image(store.content, "interop")
    store.set_tag(Reference.parse("busybox:latest"), image.descriptor)
    store.set_tag(Reference.parse("localhost:5000/team/app:v1"), image.descriptor)
    return store, str(image.descriptor.digest)


def test_skopeo_reads_the_store(tmp_path: Path) -> None:
    store, digest = _store_with_image(tmp_path / "store")
    with store:
        out = subprocess.run(
            [_tool("skopeo"), "inspect", f"oci:{store.root}:docker.io/library/busybox:latest"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        info = json.loads(out)
        assert info["Digest"] == digest
        assert info["Architecture"] == "amd64" and len(info["Layers"]) == 2
        # a full copy reads and verifies every blob
        subprocess.run(
            [
                _tool("skopeo"),
                "copy",
                "-q",
                f"oci:{store.root}:localhost:5000/team/app:v1",
                f"oci:{tmp_path / 'copy'}:app",
            ],
            check=True,
            capture_output=True,
        )


def test_umoci_lists_the_tags(tmp_path: Path) -> None:
    store, _ = _store_with_image(tmp_path / "store")
    with store:
        out = subprocess.run(
            [_tool("umoci"), "ls", "--layout", str(store.root)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        assert set(out.split()) == {
            "docker.io/library/busybox:latest",
            "localhost:5000/team/app:v1",
        }
