"""Offline verification of cosign signatures and attestations (no transparency log).

A signature layer verifies when: its media type is cosign's simple-signing type; its
``dev.cosignproject.cosign/signature`` annotation is a signature over the layer's bytes by a
trusted key; the payload names the image's digest and cosign's signature type; and the
payload's ``optional`` map holds every ``-a k=v`` the caller asks for. Layers of other media
types are ignored, and so is the Rekor bundle annotation (there is no log to check it against).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.digest import Digest
from dockyard.errors import DockyardError, NotFound, SignatureInvalid
from dockyard.oci import Descriptor, Index, Manifest
from dockyard.sign._attach import read_tag_layers
from dockyard.sign._dsse import Envelope, check_subject, predicate_type
from dockyard.sign._keys import PublicKey
from dockyard.sign._layout_names import (
    DSSE_MEDIA_TYPE,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
    artifact_type,
    referrers_fallback_tag,
)
from dockyard.sign._payload import COSIGN_SIGNATURE_TYPE, SimpleSigning, parse_payload
from dockyard.sign._repository import Repository

__all__ = [
    "Verified",
    "VerifiedAttestation",
    "find_referrers",
    "signature_layers",
    "verify_attestations",
    "verify_image",
    "verify_signature_layer",
]


@dataclass(frozen=True, slots=True)
class Verified:
    """One signature that verified: the payload bytes and what they say."""

    payload: bytes
    claims: SimpleSigning
    layer: Descriptor


@dataclass(frozen=True, slots=True)
class VerifiedAttestation:
    envelope: Envelope
    statement: dict[str, Any]
    layer: Descriptor


def _fail(reason: str) -> SignatureInvalid:
    return SignatureInvalid(reason)


def verify_signature_layer(
    media_type: str,
    annotations: Mapping[str, str] | None,
    payload: bytes,
    image: Digest,
    keys: Sequence[PublicKey],
    required: Mapping[str, str] | None = None,
) -> SimpleSigning:
    """Check one signature layer; SignatureInvalid names the first rule it breaks."""
    if media_type != SIMPLESIGNING_MEDIA_TYPE:
        raise _fail(f"layer media type {media_type!r} is not {SIMPLESIGNING_MEDIA_TYPE}")
    encoded = (annotations or {}).get(SIGNATURE_ANNOTATION)
    if not encoded:
        raise _fail(f"layer has no {SIGNATURE_ANNOTATION} annotation")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise _fail(f"the {SIGNATURE_ANNOTATION} annotation is not base64") from None
    if not any(key.verify(signature, payload) for key in keys):
        raise _fail(
            "invalid signature when validating ASN.1 encoded signature: the signature "
            "does not verify with the given public key(s)"
        )
    try:
        claims = parse_payload(payload)
    except DockyardError as e:
        raise _fail(e.message) from None
    if claims.type != COSIGN_SIGNATURE_TYPE:
        raise _fail(f"payload type {claims.type!r} is not {COSIGN_SIGNATURE_TYPE!r}")
    if claims.manifest_digest != str(image):
        raise _fail(
            f"invalid or missing digest in claim: the payload signs {claims.manifest_digest}, "
            f"the image is {image}"
        )
    for key, value in (required or {}).items():
        got = (claims.optional or {}).get(key)
        if got is None or str(got) != value:
            raise _fail(f"missing or incorrect annotation: {key}={value} (payload has {got!r})")
    return claims


def find_referrers(repo: Repository, image: Digest, suffix: str | None = None) -> list[Descriptor]:
    """Referrers of ``image`` (API, else the ``sha256-<hex>`` fallback index), optionally of
    one cosign artifact type."""
    found = repo.referrers(image)
    if found is None:
        try:
            raw, media_type = repo.get_manifest(referrers_fallback_tag(image))
            found = list(Index.parse(raw, media_type).manifests)
        except NotFound:
            found = []
    if suffix is None:
        return found
    wanted = artifact_type(suffix)
    return [d for d in found if d.artifact_type == wanted]


def signature_layers(repo: Repository, image: Digest, suffix: str) -> list[Descriptor]:
    """Every layer attached to ``image`` under the tag schema and as referrers."""
    _, layers = read_tag_layers(repo, image, suffix)
    for desc in find_referrers(repo, image, suffix):
        raw, media_type = repo.get_manifest(str(desc.digest))
        manifest = Manifest.parse(raw, media_type)
        if manifest.subject is not None and manifest.subject.digest == image:
            layers.extend(manifest.layers)
    return layers


@dataclass
class _Outcome:
    reasons: list[str] = field(default_factory=list)

    def fail(self, what: str, subject: Digest) -> SignatureInvalid:
        if not self.reasons:
            return SignatureInvalid(f"no {what} found for {subject}")
        listed = "; ".join(dict.fromkeys(self.reasons))
        return SignatureInvalid(f"no {what} verified for {subject}: {listed}")


def verify_image(
    repo: Repository,
    image: Digest,
    keys: Sequence[PublicKey],
    required: Mapping[str, str] | None = None,
) -> list[Verified]:
    """The image's signatures that verify; SignatureInvalid (with reasons) when none does."""
    outcome = _Outcome()
    verified: list[Verified] = []
    for layer in signature_layers(repo, image, "sig"):
        if layer.media_type != SIMPLESIGNING_MEDIA_TYPE:
            continue
        try:
            payload = repo.get_blob(layer)
            claims = verify_signature_layer(
                layer.media_type, layer.annotations, payload, image, keys, required
            )
        except DockyardError as e:
            outcome.reasons.append(e.message)
            continue
        verified.append(Verified(payload, claims, layer))
    if not verified:
        raise outcome.fail("signatures", image)
    return verified


def verify_attestations(
    repo: Repository,
    image: Digest,
    keys: Sequence[PublicKey],
    type_or_uri: str | None = None,
) -> list[VerifiedAttestation]:
    """The image's DSSE attestations that verify (PAE signature, subject digest, type)."""
    wanted = predicate_type(type_or_uri) if type_or_uri else None
    outcome = _Outcome()
    verified: list[VerifiedAttestation] = []
    for layer in signature_layers(repo, image, "att"):
        if layer.media_type != DSSE_MEDIA_TYPE:
            continue
        try:
            envelope = Envelope.parse(repo.get_blob(layer))
            if not envelope.verify(keys[0]) and not any(envelope.verify(k) for k in keys[1:]):
                raise SignatureInvalid("the DSSE signature does not verify with the given key(s)")
            statement = envelope.statement()
            check_subject(statement, image.hex)
            if wanted is not None and statement.get("predicateType") != wanted:
                raise SignatureInvalid(
                    f"predicate type {statement.get('predicateType')!r} is not {wanted!r}"
                )
        except DockyardError as e:
            outcome.reasons.append(e.message)
            continue
        verified.append(VerifiedAttestation(envelope, statement, layer))
    if not verified:
        raise outcome.fail("attestations", image)
    return verified
