"""Media types of the OCI image spec and of Docker's image manifest v2 schema 2."""

from __future__ import annotations

import re
from typing import Literal

from dockyard.errors import Unsupported

__all__ = [
    "DOCKER_CONFIG",
    "DOCKER_FOREIGN_LAYER",
    "DOCKER_LAYER",
    "DOCKER_LAYER_GZIP",
    "DOCKER_LAYER_ZSTD",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "OCI_CONFIG",
    "OCI_EMPTY_JSON",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_LAYER_GZIP",
    "OCI_LAYER_NONDIST",
    "OCI_LAYER_NONDIST_GZIP",
    "OCI_LAYER_NONDIST_ZSTD",
    "OCI_LAYER_ZSTD",
    "OCI_MANIFEST",
    "Compression",
    "base",
    "is_config",
    "is_index",
    "is_layer",
    "is_manifest",
    "is_valid",
    "layer_compression",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDIST = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDIST_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDIST_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
OCI_EMPTY_JSON = "application/vnd.oci.empty.v1+json"

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

Compression = Literal["gzip", "zstd"]

_MANIFESTS = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
_INDEXES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
_CONFIGS = frozenset({OCI_CONFIG, DOCKER_CONFIG})
_LAYERS: dict[str, Compression | None] = {
    OCI_LAYER: None,
    OCI_LAYER_GZIP: "gzip",
    OCI_LAYER_ZSTD: "zstd",
    OCI_LAYER_NONDIST: None,
    OCI_LAYER_NONDIST_GZIP: "gzip",
    OCI_LAYER_NONDIST_ZSTD: "zstd",
    DOCKER_LAYER: None,
    DOCKER_LAYER_GZIP: "gzip",
    DOCKER_LAYER_ZSTD: "zstd",
    DOCKER_FOREIGN_LAYER: "gzip",
}


# RFC 6838 type/subtype, as the OCI image spec requires for mediaType and artifactType
_MEDIA_TYPE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
)


def is_valid(media_type: str) -> bool:
    """Whether ``media_type`` is a syntactically valid ``type/subtype`` (RFC 6838)."""
    return bool(_MEDIA_TYPE.fullmatch(media_type))


def base(media_type: str) -> str:
    """The media type without parameters: ``"a/b; charset=utf-8"`` → ``"a/b"``."""
    return media_type.split(";", 1)[0].strip()


def is_manifest(media_type: str) -> bool:
    """An image manifest (OCI or Docker v2 schema 2)."""
    return base(media_type) in _MANIFESTS


def is_index(media_type: str) -> bool:
    """An OCI image index or a Docker manifest list."""
    return base(media_type) in _INDEXES


def is_config(media_type: str) -> bool:
    """An image config (OCI or Docker)."""
    return base(media_type) in _CONFIGS


def is_layer(media_type: str) -> bool:
    """A filesystem layer tar, compressed or not, distributable or not."""
    return base(media_type) in _LAYERS


def layer_compression(media_type: str) -> Compression | None:
    """How a layer of this media type is compressed: ``"gzip"``, ``"zstd"`` or ``None``."""
    try:
        return _LAYERS[base(media_type)]
    except KeyError:
        raise Unsupported(
            f"{media_type!r} is not a layer media type",
            hint="layers are application/vnd.oci.image.layer.v1.tar[+gzip|+zstd] "
            "or application/vnd.docker.image.rootfs.diff.tar.gzip",
        ) from None
