"""cosign's simple-signing payload, byte for byte as cosign (Go ``json.Marshal``) writes it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.digest import Digest
from dockyard.errors import InvalidArgument
from dockyard.oci import marshal_json
from dockyard.reference import Reference

__all__ = [
    "COSIGN_SIGNATURE_TYPE",
    "SimpleSigning",
    "docker_reference",
    "make_payload",
    "parse_payload",
]

COSIGN_SIGNATURE_TYPE = "cosign container image signature"


def docker_reference(ref: Reference) -> str:
    """The repository as go-containerregistry names it (``index.docker.io/library/busybox``)."""
    domain = "index.docker.io" if ref.domain == "docker.io" else ref.domain
    return f"{domain}/{ref.path}"


def make_payload(
    repository: str, digest: Digest, annotations: Mapping[str, str] | None = None
) -> bytes:
    """The payload cosign signs: compact, keys in Go's order, ``"optional":null`` when empty."""
    obj: dict[str, Any] = {
        "critical": {
            "identity": {"docker-reference": repository},
            "image": {"docker-manifest-digest": str(digest)},
            "type": COSIGN_SIGNATURE_TYPE,
        },
        "optional": dict(sorted(annotations.items())) if annotations else None,
    }
    return marshal_json(obj)


@dataclass(frozen=True, slots=True)
class SimpleSigning:
    """The parts of a payload that verification looks at; ``data`` is the whole decoded JSON."""

    docker_reference: str | None
    manifest_digest: str | None
    type: str | None
    optional: dict[str, Any] | None
    data: dict[str, Any]


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def parse_payload(raw: bytes) -> SimpleSigning:
    """Decode a payload; InvalidArgument when it is not a JSON object."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument("the signature payload is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidArgument("the signature payload is not a JSON object")
    optional = data.get("optional")

    def text(*path: str) -> str | None:
        value = _get(data, *path)
        return value if isinstance(value, str) else None

    return SimpleSigning(
        docker_reference=text("critical", "identity", "docker-reference"),
        manifest_digest=text("critical", "image", "docker-manifest-digest"),
        type=text("critical", "type"),
        optional=optional if isinstance(optional, dict) else None,
        data=data,
    )
