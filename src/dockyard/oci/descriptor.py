"""Content descriptors: media type + digest + size, and the optional OCI fields."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from dockyard.digest import Digest, digest_of
from dockyard.errors import DigestInvalid, Unsupported
from dockyard.oci._json import Fields
from dockyard.oci.mediatypes import OCI_EMPTY_JSON, is_valid
from dockyard.oci.platform import Platform

__all__ = ["EMPTY_JSON", "Descriptor"]

#: The content of the OCI "empty" blob (``application/vnd.oci.empty.v1+json``).
EMPTY_JSON = b"{}"


@dataclass(frozen=True, slots=True)
class Descriptor:
    """Points at one blob: what it is (media type), which bytes (digest) and how many (size)."""

    media_type: str
    digest: Digest
    size: int
    urls: list[str] | None = None
    annotations: dict[str, str] | None = None
    platform: Platform | None = None
    artifact_type: str | None = None
    data: bytes | None = None

    def __hash__(self) -> int:
        return hash((self.media_type, self.digest, self.size))

    @classmethod
    def of(cls, content: bytes, media_type: str, *, algorithm: str = "sha256") -> Descriptor:
        """The descriptor of ``content`` (digest and size computed here)."""
        return cls(media_type, digest_of(content, algorithm), len(content))

    @classmethod
    def empty_json(cls) -> Descriptor:
        """The OCI empty descriptor (``{}``), used as config or layer of artifacts."""
        return cls.of(EMPTY_JSON, OCI_EMPTY_JSON)

    def to_json(self) -> dict[str, Any]:
        """The descriptor as JSON, in the OCI spec's field order, without empty fields."""
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": str(self.digest),
            "size": self.size,
        }
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(sorted(self.annotations.items()))
        if self.data is not None:
            out["data"] = base64.b64encode(self.data).decode("ascii")
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        return out

    @classmethod
    def from_json(cls, obj: object, *, what: str = "descriptor", where: str = "") -> Descriptor:
        """Parse a descriptor strictly; errors are ManifestInvalid naming the bad field."""
        f = Fields(obj, what, where)
        media_type = f.req_str("mediaType")
        if not is_valid(media_type):
            f.fail(f"{f.path('mediaType')} {media_type!r} is not a valid media type")
        digest = _digest(f, "digest")
        size = f.req_size("size")
        artifact_type = f.opt_str("artifactType")
        if artifact_type is not None and not is_valid(artifact_type):
            f.fail(f"{f.path('artifactType')} {artifact_type!r} is not a valid media type")
        platform = None
        if f.obj.get("platform") is not None:
            platform = Platform.from_json(f.obj["platform"], what=what, where=f.path("platform"))
        return cls(
            media_type=media_type,
            digest=digest,
            size=size,
            urls=f.opt_str_list("urls"),
            annotations=f.opt_str_map("annotations"),
            platform=platform,
            artifact_type=artifact_type or None,
            data=_data(f, digest, size),
        )


def _digest(f: Fields, key: str) -> Digest:
    text = f.req_str(key)
    try:
        return Digest.parse(text)
    except (DigestInvalid, Unsupported) as e:
        f.fail(f"{f.path(key)} {text!r}: {e.message}")


def _data(f: Fields, digest: Digest, size: int) -> bytes | None:
    text = f.opt_str("data")
    if text is None:
        return None
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        f.fail(f"{f.path('data')} is not valid base64")
    if len(data) != size or digest_of(data, digest.algorithm) != digest:
        f.fail(f"{f.path('data')} does not match the descriptor's digest and size")
    return data
