"""What a promotion must show before a tag moves: the gates, as JSON and as values.

The JSON (a promotion policy's ``require``, or a promote request's)::

    {"signature": {"keys": ["-----BEGIN PUBLIC KEY-----…"]},
     "scan": {"max_severity": "high"},
     "attestation": {"predicate_type": "https://example.com/tests-passed/v1",
                     "keys": ["-----BEGIN PUBLIC KEY-----…"]}}

Every key is optional; ``"attestation"`` may also be a list of such objects. A gate present
is required. Keys are PEM texts (``PUBLIC KEY``): in a policy they are what the server trusts;
in a request they only add a requirement (a signature by one of them as well).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from dockyard.errors import DockyardError, InvalidArgument
from dockyard.scan import SEVERITIES
from dockyard.sign import PublicKey, load_public_key, predicate_type

__all__ = [
    "ATTESTATION",
    "GATES",
    "SCAN",
    "SIGNATURE",
    "AttestationGate",
    "Requirements",
    "ScanGate",
    "SignatureGate",
    "key_id",
    "parse_requirements",
]

SIGNATURE: Final = "signature"
SCAN: Final = "scan"
ATTESTATION: Final = "attestation"
GATES: Final = (SIGNATURE, SCAN, ATTESTATION)


def key_id(key: PublicKey) -> str:
    """A short, stable name of a public key: ``sha256:`` and 16 hex digits of its SPKI PEM's
    digest (what the audit log and the answers name a key by)."""
    return "sha256:" + hashlib.sha256(key.pem).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class SignatureGate:
    """A cosign signature by one of ``keys`` (empty: by a key the server trusts)."""

    keys: tuple[PublicKey, ...] = ()


@dataclass(frozen=True, slots=True)
class ScanGate:
    """A finished scan report, no older than the vulnerability database, with no finding
    above ``max_severity`` (one of :data:`dockyard.scan.SEVERITIES`)."""

    max_severity: str


@dataclass(frozen=True, slots=True)
class AttestationGate:
    """A signed in-toto attestation of ``predicate_type`` whose subject is the digest, by one
    of ``keys`` (empty: by a key the server trusts)."""

    predicate_type: str
    keys: tuple[PublicKey, ...] = ()


@dataclass(frozen=True, slots=True)
class Requirements:
    """The gates one source (a policy, or a request) asks for."""

    signature: SignatureGate | None = None
    scan: ScanGate | None = None
    attestations: tuple[AttestationGate, ...] = ()

    @property
    def empty(self) -> bool:
        return self.signature is None and self.scan is None and not self.attestations

    def names(self) -> list[str]:
        """The gates asked for, in :data:`GATES` order."""
        out = [SIGNATURE] if self.signature is not None else []
        out += [SCAN] if self.scan is not None else []
        return out + ([ATTESTATION] if self.attestations else [])

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.signature is not None:
            out[SIGNATURE] = {"keys": [k.pem.decode() for k in self.signature.keys]}
        if self.scan is not None:
            out[SCAN] = {"max_severity": self.scan.max_severity.lower()}
        if self.attestations:
            out[ATTESTATION] = [
                {"predicate_type": a.predicate_type, "keys": [k.pem.decode() for k in a.keys]}
                for a in self.attestations
            ]
        return out


def _keys(value: object, where: str) -> tuple[PublicKey, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument(f"{where}.keys must be a list of PEM public keys")
    keys: list[PublicKey] = []
    for i, pem in enumerate(value):
        try:
            keys.append(load_public_key(pem.encode()))
        except DockyardError as exc:
            raise InvalidArgument(
                f"{where}.keys[{i}] is not a public key: {exc.message}",
                hint="give the PEM text of a cosign public key (cosign.pub)",
            ) from None
    return tuple(keys)


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"{where} must be a JSON object")
    return value


def _closed(obj: Mapping[str, Any], where: str, known: tuple[str, ...]) -> None:
    unknown = sorted(set(obj) - set(known))
    if unknown:
        raise InvalidArgument(
            f"{where} has unknown field(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )


def _severity(value: object, where: str) -> str:
    if not isinstance(value, str) or value.upper() not in SEVERITIES:
        raise InvalidArgument(
            f"{where}.max_severity must be one of {', '.join(s.lower() for s in SEVERITIES)}, "
            f"not {value!r}"
        )
    return value.upper()


def _attestation(value: object, where: str) -> AttestationGate:
    obj = _object(value, where)
    _closed(obj, where, ("predicate_type", "keys"))
    kind = obj.get("predicate_type")
    if not isinstance(kind, str) or not kind:
        raise InvalidArgument(f"{where}.predicate_type must name a predicate type (a URI)")
    return AttestationGate(predicate_type(kind), _keys(obj.get("keys"), where))


def parse_requirements(value: object, where: str = "require") -> Requirements:
    """``require`` JSON (see the module's docstring) as :class:`Requirements`; InvalidArgument
    naming the field that is wrong."""
    if value is None:
        return Requirements()
    obj = _object(value, where)
    _closed(obj, where, GATES)
    signature = None
    if obj.get(SIGNATURE) is not None:
        sig = obj[SIGNATURE]
        if sig is True:
            sig = {}
        sig = _object(sig, f"{where}.signature")
        _closed(sig, f"{where}.signature", ("keys",))
        signature = SignatureGate(_keys(sig.get("keys"), f"{where}.signature"))
    scan = None
    if obj.get(SCAN) is not None:
        spec = _object(obj[SCAN], f"{where}.scan")
        _closed(spec, f"{where}.scan", ("max_severity",))
        scan = ScanGate(_severity(spec.get("max_severity"), f"{where}.scan"))
    raw = obj.get(ATTESTATION)
    items = raw if isinstance(raw, list) else ([] if raw is None else [raw])
    attestations = tuple(
        _attestation(item, f"{where}.attestation[{i}]") for i, item in enumerate(items)
    )
    return Requirements(signature, scan, attestations)
