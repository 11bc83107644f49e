"""What Docker and skopeo write parses, with digests over the bytes they wrote."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from dockyard.digest import Digest, digest_of
from dockyard.oci import ImageConfig, Index, Manifest, Platform, parse_manifest_or_index
from dockyard.oci import mediatypes as mt

pytestmark = pytest.mark.docker


def skopeo_copy(dockerd: Any, ref: str, dest: str, *extra: str) -> None:
    source = f"docker-daemon:{ref}"
    result = subprocess.run(
        ["skopeo", "copy", "--quiet", "--src-daemon-host", dockerd.host, *extra, source, dest],
        env=dockerd.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


def blob(root: Path, digest: Digest) -> bytes:
    return (root / "blobs" / digest.algorithm / digest.hex).read_bytes()


def test_oci_layout_from_docker(multilayer_image: Any, dockerd: Any, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    skopeo_copy(dockerd, multilayer_image.ref, f"oci:{layout}:t")
    index = Index.parse((layout / "index.json").read_bytes())
    assert index.media_type == mt.OCI_INDEX
    entry = index.manifests[0]
    raw = blob(layout, entry.digest)
    manifest = parse_manifest_or_index(raw, entry.media_type)
    assert isinstance(manifest, Manifest)
    assert manifest.digest == entry.digest and manifest.size == entry.size
    config = ImageConfig.parse(blob(layout, manifest.config.digest))
    assert config.digest == manifest.config.digest  # skopeo rewrites the config for OCI
    assert len(config.diff_ids) == len(manifest.layers)
    assert config.platform().matches(Platform.current())
    assert ImageConfig.build(config.data).data == config.data
    assert all(mt.is_layer(layer.media_type) for layer in manifest.layers)


def test_docker_v2s2_from_docker(busybox_image: Any, dockerd: Any, tmp_path: Path) -> None:
    out = tmp_path / "dir"
    skopeo_copy(dockerd, busybox_image.ref, f"dir:{out}", "--format", "v2s2")
    raw = (out / "manifest.json").read_bytes()
    manifest = Manifest.parse(raw)
    assert manifest.media_type == mt.DOCKER_MANIFEST
    assert manifest.digest == digest_of(raw)
    config_raw = (out / manifest.config.digest.hex).read_bytes()
    config = ImageConfig.parse(config_raw)
    assert config.digest == manifest.config.digest
    assert str(config.digest) == busybox_image.id
    assert [mt.layer_compression(layer.media_type) for layer in manifest.layers] == ["gzip"]
