"""What a copy does to layer compression: buildx's ``compression=`` and ``force-compression=``.

Pure decisions over media types, no I/O: which layers to convert, and the media types the
rewritten manifests use (docker's own for docker manifests; OCI ones once a layer is zstd, as
BuildKit does, since Docker's v2 schema 2 has no zstd layers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dockyard.errors import InvalidArgument
from dockyard.oci import Descriptor
from dockyard.oci import mediatypes as mt

__all__ = [
    "COMPRESSION_NAMES",
    "CompressionName",
    "CompressionPolicy",
    "LayerCompression",
    "as_oci",
    "layer_media_type",
    "oci_layer_media_type",
]

#: How a layer is compressed; ``None`` is a plain tar.
LayerCompression = Literal["gzip", "zstd"] | None
#: The spelling on the command line (buildx's): ``none`` is a plain tar.
CompressionName = Literal["none", "gzip", "zstd"]
COMPRESSION_NAMES: tuple[CompressionName, ...] = ("none", "gzip", "zstd")

#: Layer media types a copy may convert: distributable filesystem layers.
_CONVERTIBLE = frozenset(
    {
        mt.OCI_LAYER,
        mt.OCI_LAYER_GZIP,
        mt.OCI_LAYER_ZSTD,
        mt.DOCKER_LAYER,
        mt.DOCKER_LAYER_GZIP,
        mt.DOCKER_LAYER_ZSTD,
    }
)
_OCI_LAYER: dict[LayerCompression, str] = {
    None: mt.OCI_LAYER,
    "gzip": mt.OCI_LAYER_GZIP,
    "zstd": mt.OCI_LAYER_ZSTD,
}
_DOCKER_LAYER: dict[LayerCompression, str] = {None: mt.DOCKER_LAYER, "gzip": mt.DOCKER_LAYER_GZIP}
#: A docker manifest's media types in the OCI manifest it becomes.
_DOCKER_TO_OCI = {
    mt.DOCKER_LAYER: mt.OCI_LAYER,
    mt.DOCKER_LAYER_GZIP: mt.OCI_LAYER_GZIP,
    mt.DOCKER_LAYER_ZSTD: mt.OCI_LAYER_ZSTD,
    mt.DOCKER_FOREIGN_LAYER: mt.OCI_LAYER_NONDIST_GZIP,
    mt.DOCKER_CONFIG: mt.OCI_CONFIG,
}


@dataclass(frozen=True, slots=True)
class CompressionPolicy:
    """The compression layers should have at the destination.

    Without ``force`` only plain tar layers are compressed (what ``docker push`` does); layers
    already compressed keep their bytes and digests whatever ``compression`` says. With
    ``force`` every layer not already in ``compression`` is converted (zstd → gzip, gzip → none…).
    """

    compression: LayerCompression
    force: bool = False

    @classmethod
    def named(cls, name: str, *, force: bool = False) -> CompressionPolicy:
        """The policy for ``--compression NAME`` (``none``, ``gzip`` or ``zstd``)."""
        if name == "none":
            return cls(None, force)
        if name == "gzip":
            return cls("gzip", force)
        if name == "zstd":
            return cls("zstd", force)
        raise InvalidArgument(
            f"unknown layer compression {name!r}: use one of {', '.join(COMPRESSION_NAMES)}"
        )

    @property
    def changes_nothing(self) -> bool:
        """Leaves every layer as it is (``none`` without ``force``)."""
        return self.compression is None and not self.force

    def target(self, layer: Descriptor) -> tuple[bool, LayerCompression]:
        """(convert?, to what). Non-distributable, foreign and non-layer blobs never convert."""
        media_type = mt.base(layer.media_type)
        if media_type not in _CONVERTIBLE or layer.urls:
            return False, None
        current = mt.layer_compression(media_type)
        if current == self.compression:
            return False, None
        if current is None or self.force:
            return True, self.compression
        return False, None


def oci_layer_media_type(compression: LayerCompression) -> str:
    return _OCI_LAYER[compression]


def layer_media_type(compression: LayerCompression, *, oci: bool) -> str:
    """The media type of a converted layer in an OCI (``oci``) or a docker manifest."""
    if oci or compression not in _DOCKER_LAYER:
        return _OCI_LAYER[compression]
    return _DOCKER_LAYER[compression]


def as_oci(media_type: str) -> str:
    """A docker layer's or config's media type in an OCI manifest (others are unchanged)."""
    return _DOCKER_TO_OCI.get(mt.base(media_type), media_type)
