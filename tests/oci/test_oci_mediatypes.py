"""Media type constants and classification."""

from __future__ import annotations

import pytest

from dockyard.errors import Unsupported
from dockyard.oci import mediatypes as mt


def test_constants_are_the_spec_strings() -> None:
    assert mt.OCI_MANIFEST == "application/vnd.oci.image.manifest.v1+json"
    assert mt.OCI_INDEX == "application/vnd.oci.image.index.v1+json"
    assert mt.OCI_CONFIG == "application/vnd.oci.image.config.v1+json"
    assert mt.OCI_EMPTY_JSON == "application/vnd.oci.empty.v1+json"
    assert mt.DOCKER_MANIFEST == "application/vnd.docker.distribution.manifest.v2+json"
    assert mt.DOCKER_MANIFEST_LIST == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert mt.DOCKER_CONFIG == "application/vnd.docker.container.image.v1+json"
    assert mt.DOCKER_LAYER_GZIP == "application/vnd.docker.image.rootfs.diff.tar.gzip"
    assert mt.DOCKER_FOREIGN_LAYER == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"


def test_classification() -> None:
    assert mt.is_manifest(mt.OCI_MANIFEST) and mt.is_manifest(mt.DOCKER_MANIFEST)
    assert mt.is_index(mt.OCI_INDEX) and mt.is_index(mt.DOCKER_MANIFEST_LIST)
    assert not mt.is_manifest(mt.OCI_INDEX) and not mt.is_index(mt.OCI_MANIFEST)
    assert mt.is_config(mt.OCI_CONFIG) and mt.is_config(mt.DOCKER_CONFIG)
    assert not mt.is_layer(mt.OCI_CONFIG)
    assert mt.is_manifest(mt.OCI_MANIFEST + "; charset=utf-8")


@pytest.mark.parametrize(
    ("media_type", "compression"),
    [
        (mt.OCI_LAYER, None),
        (mt.OCI_LAYER_GZIP, "gzip"),
        (mt.OCI_LAYER_ZSTD, "zstd"),
        (mt.OCI_LAYER_NONDIST, None),
        (mt.OCI_LAYER_NONDIST_GZIP, "gzip"),
        (mt.OCI_LAYER_NONDIST_ZSTD, "zstd"),
        (mt.DOCKER_LAYER, None),
        (mt.DOCKER_LAYER_GZIP, "gzip"),
        (mt.DOCKER_LAYER_ZSTD, "zstd"),
        (mt.DOCKER_FOREIGN_LAYER, "gzip"),
    ],
)
def test_layers(media_type: str, compression: str | None) -> None:
    assert mt.is_layer(media_type)
    assert mt.layer_compression(media_type) == compression


def test_layer_compression_of_a_non_layer() -> None:
    with pytest.raises(Unsupported, match="not a layer media type"):
        mt.layer_compression(mt.OCI_CONFIG)


def test_is_valid() -> None:
    assert mt.is_valid(mt.OCI_MANIFEST)
    assert mt.is_valid("application/vnd.example+type")
    for bad in ("", "application", "application/", "/json", "a/b/c", "app lication/json"):
        assert not mt.is_valid(bad)
