"""Signing and attesting images (``cosign sign`` / ``cosign attest``) over a Repository."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from dockyard.digest import Digest
from dockyard.sign._attach import Layer, append_to_tag, attach_referrer
from dockyard.sign._dsse import make_statement, predicate_type, sign_envelope
from dockyard.sign._keys import PrivateKey
from dockyard.sign._layout_names import (
    DSSE_MEDIA_TYPE,
    PREDICATE_TYPE_ANNOTATION,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
)
from dockyard.sign._payload import make_payload
from dockyard.sign._repository import Repository

__all__ = ["Signed", "attest_image", "sign_image"]


@dataclass(frozen=True, slots=True)
class Signed:
    """What was attached: the signed bytes, the signature and the manifest that holds it."""

    image: Digest
    payload: bytes
    signature: str
    manifest: Digest


def _attach(
    repo: Repository,
    image: Digest,
    suffix: str,
    layer: Layer,
    referrers: bool,
    now: datetime | None,
) -> Digest:
    if referrers:
        return attach_referrer(repo, repo.resolve(str(image)), suffix, layer, now=now)
    return append_to_tag(repo, image, suffix, layer, now=now)


def sign_image(
    repo: Repository,
    image: Digest,
    key: PrivateKey,
    *,
    annotations: Mapping[str, str] | None = None,
    referrers: bool = False,
    now: datetime | None = None,
) -> Signed:
    """Sign the manifest ``image`` of ``repo`` and attach the signature (tag schema by
    default, an OCI 1.1 referrer with ``referrers``)."""
    repo.resolve(str(image))  # the image must exist where we attach its signature
    payload = make_payload(repo.name, image, annotations)
    signature = base64.b64encode(key.sign(payload)).decode("ascii")
    layer = Layer(payload, SIMPLESIGNING_MEDIA_TYPE, {SIGNATURE_ANNOTATION: signature})
    manifest = _attach(repo, image, "sig", layer, referrers, now)
    return Signed(image, payload, signature, manifest)


def attest_image(
    repo: Repository,
    image: Digest,
    key: PrivateKey,
    predicate: bytes,
    type_or_uri: str,
    *,
    referrers: bool = False,
    now: datetime | None = None,
) -> Signed:
    """Wrap ``predicate`` in an in-toto statement about ``image``, sign it as DSSE and attach
    the envelope (``.att`` tag, layer type ``application/vnd.dsse.envelope.v1+json``)."""
    repo.resolve(str(image))
    statement = make_statement(predicate, type_or_uri, repo.name, image.hex, now=now)
    envelope = sign_envelope(key, statement)
    annotations = {
        SIGNATURE_ANNOTATION: "",
        PREDICATE_TYPE_ANNOTATION: predicate_type(type_or_uri),
    }
    layer = Layer(envelope.raw, DSSE_MEDIA_TYPE, annotations)
    manifest = _attach(repo, image, "att", layer, referrers, now)
    signature = base64.b64encode(envelope.signatures[0]).decode("ascii")
    return Signed(image, envelope.raw, signature, manifest)
