"""DSSE envelopes and in-toto statements, as ``cosign attest`` writes and verifies them."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dockyard.errors import InvalidArgument, SignatureInvalid
from dockyard.oci import marshal_json
from dockyard.sign._keys import PrivateKey, PublicKey

__all__ = [
    "INTOTO_PAYLOAD_TYPE",
    "PREDICATE_TYPES",
    "STATEMENT_TYPE",
    "Envelope",
    "check_subject",
    "make_statement",
    "pae",
    "predicate_type",
    "sign_envelope",
]

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v0.1"
COSIGN_CUSTOM = "https://cosign.sigstore.dev/attestation/v1"
#: cosign's ``--type`` shorthands.
PREDICATE_TYPES = {
    "slsaprovenance": "https://slsa.dev/provenance/v0.2",
    "slsaprovenance02": "https://slsa.dev/provenance/v0.2",
    "slsaprovenance1": "https://slsa.dev/provenance/v1",
    "link": "https://in-toto.io/Link/v1",
    "spdx": "https://spdx.dev/Document",
    "spdxjson": "https://spdx.dev/Document",
    "cyclonedx": "https://cyclonedx.org/bom",
    "vuln": "https://cosign.sigstore.dev/attestation/vuln/v1",
    "openvex": "https://openvex.dev/ns",
    "custom": COSIGN_CUSTOM,
}


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: ``DSSEv1 <len> <type> <len> <payload>``."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def predicate_type(type_or_uri: str) -> str:
    """A ``--type`` shorthand or a predicate type URI."""
    if type_or_uri in PREDICATE_TYPES:
        return PREDICATE_TYPES[type_or_uri]
    if "://" in type_or_uri:
        return type_or_uri
    known = ", ".join(sorted(PREDICATE_TYPES))
    raise InvalidArgument(f"invalid predicate type {type_or_uri!r}", hint=f"{known} or a URI")


def make_statement(
    predicate: bytes,
    type_or_uri: str,
    subject_name: str,
    sha256_hex: str,
    *,
    now: datetime | None = None,
) -> bytes:
    """The in-toto statement for one subject. ``custom`` wraps the predicate as cosign does
    (``{"Data": text, "Timestamp": …}``); every other type must be a JSON predicate."""
    kind = predicate_type(type_or_uri)
    body: Any
    if kind == COSIGN_CUSTOM:
        stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"Data": predicate.decode("utf-8", "replace"), "Timestamp": stamp}
    else:
        try:
            body = json.loads(predicate)
        except (ValueError, UnicodeDecodeError):
            raise InvalidArgument(f"the predicate for type {kind} is not JSON") from None
    statement = {
        "_type": STATEMENT_TYPE,
        "predicateType": kind,
        "subject": [{"name": subject_name, "digest": {"sha256": sha256_hex}}],
        "predicate": body,
    }
    return marshal_json(statement)


@dataclass(frozen=True, slots=True)
class Envelope:
    """A DSSE envelope; ``raw`` is the JSON it came from (or was written as)."""

    payload_type: str
    payload: bytes
    signatures: list[bytes]
    raw: bytes

    @classmethod
    def parse(cls, raw: bytes) -> Envelope:
        try:
            obj = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise InvalidArgument("the DSSE envelope is not JSON") from None
        if not isinstance(obj, dict):
            raise InvalidArgument("the DSSE envelope is not a JSON object")
        payload_type, payload, sigs = (
            obj.get("payloadType"),
            obj.get("payload"),
            obj.get("signatures"),
        )
        if not isinstance(payload_type, str) or not isinstance(payload, str):
            raise InvalidArgument("the DSSE envelope needs string payloadType and payload")
        if not isinstance(sigs, list) or not sigs:
            raise InvalidArgument("the DSSE envelope has no signatures")
        try:
            decoded = base64.b64decode(payload, validate=True)
            signatures = [
                base64.b64decode(s.get("sig", ""), validate=True)
                for s in sigs
                if isinstance(s, dict)
            ]
        except (binascii.Error, ValueError, TypeError):
            raise InvalidArgument("the DSSE envelope holds invalid base64") from None
        return cls(payload_type, decoded, signatures, bytes(raw))

    def verify(self, key: PublicKey) -> bool:
        """Whether any signature verifies over the PAE (never over the raw payload)."""
        message = pae(self.payload_type, self.payload)
        return any(key.verify(sig, message) for sig in self.signatures)

    def statement(self) -> dict[str, Any]:
        if self.payload_type != INTOTO_PAYLOAD_TYPE:
            raise InvalidArgument(f"DSSE payloadType {self.payload_type!r} is not in-toto")
        try:
            obj = json.loads(self.payload)
        except (ValueError, UnicodeDecodeError):
            raise InvalidArgument("the in-toto statement is not JSON") from None
        if not isinstance(obj, dict):
            raise InvalidArgument("the in-toto statement is not a JSON object")
        return obj


def sign_envelope(
    key: PrivateKey, payload: bytes, payload_type: str = INTOTO_PAYLOAD_TYPE
) -> Envelope:
    signature = key.sign(pae(payload_type, payload))
    obj = {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [{"keyid": "", "sig": base64.b64encode(signature).decode("ascii")}],
    }
    return Envelope(payload_type, payload, [signature], marshal_json(obj))


def check_subject(statement: Mapping[str, Any], sha256_hex: str) -> None:
    """cosign's subject claim check: some subject's ``digest.sha256`` equals the artifact's."""
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise SignatureInvalid("the attestation has no subject")
    found: list[str] = []
    for subject in subjects:
        digests = subject.get("digest") if isinstance(subject, dict) else None
        value = digests.get("sha256") if isinstance(digests, dict) else None
        if isinstance(value, str):
            if value == sha256_hex:
                return
            found.append(value)
    if not found:
        raise SignatureInvalid("no subject of the attestation has a sha256 digest")
    raise SignatureInvalid(
        f"no matching subject digest found: wanted sha256:{sha256_hex}, the attestation "
        f"names {', '.join('sha256:' + f for f in found)}"
    )
