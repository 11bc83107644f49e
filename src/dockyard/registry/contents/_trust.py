"""Whether an artifact's cosign signatures and in-toto attestations verify (blocking: run in a thread, after the API
has let the user read the artifact).

A signature is judged by content only: its layer's signature over its payload must verify
with a key the registry trusts for the repository (the signature policy's keys,
``policies.signatures``) or a key one of the project's promotion policies names (the keys its
signature and attestation gates verify with), and the payload must name the artifact's
digest. An attestation (a DSSE envelope layer, ``cosign attest``'s ``.att``) is judged the
same way: one of the envelope's signatures must verify over its pre-authentication encoding
with one of those keys, its payload must be an in-toto statement, and one of the statement's
subjects must be the artifact's digest. A tag or a name never makes either verified."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.digest import Digest
from dockyard.errors import DockyardError
from dockyard.oci import Descriptor
from dockyard.registry._registry import Registry
from dockyard.registry.policy import RegistryRepository
from dockyard.registry.promotion import key_id, registry_trusted
from dockyard.sign import (
    DSSE_MEDIA_TYPE,
    Envelope,
    PublicKey,
    check_subject,
    load_public_key,
    verify_signature_layer,
)

__all__ = [
    "MAX_ENVELOPE",
    "MAX_PAYLOAD",
    "MAX_POLICY_KEYS",
    "NO_KEY",
    "UNVERIFIED",
    "VERIFIED",
    "Verdict",
    "judge",
    "policy_keys",
    "trusted_keys",
]

VERIFIED = "verified"
UNVERIFIED = "signature does not verify"
NO_KEY = "no trusted key configured"
#: a signature payload is a few hundred bytes; a bigger layer is not read
MAX_PAYLOAD = 1 << 20
#: an attestation's envelope carries its predicate (an SBOM, provenance): read up to this
MAX_ENVELOPE = 16 << 20


@dataclass(frozen=True, slots=True)
class Verdict:
    """One signature layer's state: :data:`VERIFIED` (``detail``: the key's id), or
    :data:`UNVERIFIED` (``detail``: why), or :data:`NO_KEY`."""

    state: str
    detail: str = ""


def trusted_keys(registry: Registry, repository: str) -> tuple[PublicKey, ...]:
    """The keys the registry's signature policy trusts for ``repository`` (none without one):
    the same lookup as the promotion gates'."""
    return tuple(registry_trusted(registry)(repository))


#: the promotion policies' keys a page verifies with, at most (each is one verification per
#: signature layer)
MAX_POLICY_KEYS = 16


def policy_keys(policies: object) -> list[tuple[PublicKey, str]]:
    """The keys named by the project's promotion policies (``GET …/promotion_policies``, as
    JSON), each with the policy that names it ("promotion policy 3"); at most
    :data:`MAX_POLICY_KEYS`, each once. A PEM that does not load is skipped: the API refused
    such a policy when it was saved."""
    out: dict[str, tuple[PublicKey, str]] = {}
    for policy in policies if isinstance(policies, list) else ():
        if not isinstance(policy, dict):
            continue
        require = policy.get("require") or {}
        gates = [require.get("signature") or {}, *(require.get("attestations") or ())]
        for gate in gates:
            for pem in (gate.get("keys") or ()) if isinstance(gate, dict) else ():
                if len(out) >= MAX_POLICY_KEYS:
                    return list(out.values())
                try:
                    key = load_public_key(str(pem).encode())
                except DockyardError:
                    continue
                out.setdefault(key_id(key), (key, f"promotion policy {policy.get('id', '?')}"))
    return list(out.values())


def judge(registry: Registry, repository: str, subject: str, layer: Mapping[str, Any],
          keys: Sequence[PublicKey]) -> Verdict:  # fmt: skip
    """Whether the signature layer ``layer`` (a manifest's layer descriptor, as JSON) is a
    signature of ``subject`` by one of ``keys``: its blob is read and checked against its
    digest, its annotation must verify over that blob, and the payload must name
    ``subject``."""
    if not keys:
        return Verdict(NO_KEY)
    try:
        descriptor = Descriptor(str(layer.get("mediaType", "")),
                                Digest.parse(str(layer.get("digest", ""))),
                                int(layer.get("size", 0)))  # fmt: skip
        dsse = descriptor.media_type == DSSE_MEDIA_TYPE
        limit = MAX_ENVELOPE if dsse else MAX_PAYLOAD
        if descriptor.size > limit:
            return Verdict(UNVERIFIED, f"its payload claims {descriptor.size:,} bytes; a "
                           f"signature payload holds at most {limit:,}")  # fmt: skip
        payload = RegistryRepository(registry, repository).get_blob(descriptor)
    except (DockyardError, ValueError, TypeError) as e:
        return Verdict(UNVERIFIED, f"its payload cannot be read: {e}")
    if dsse:
        return _judge_attestation(payload, Digest.parse(subject), keys)
    found = layer.get("annotations")
    annotations = {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}
    reason = ""
    for key in keys:
        try:
            verify_signature_layer(descriptor.media_type, annotations, payload,
                                   Digest.parse(subject), [key])  # fmt: skip
        except DockyardError as e:
            reason = e.message
            continue
        return Verdict(VERIFIED, key_id(key))
    return Verdict(UNVERIFIED, reason)


def _judge_attestation(raw: bytes, subject: Digest, keys: Sequence[PublicKey]) -> Verdict:
    """A DSSE envelope's verdict: signed by one of ``keys`` over its PAE, an in-toto
    statement, about ``subject``."""
    try:
        envelope = Envelope.parse(raw)
    except DockyardError as e:
        return Verdict(UNVERIFIED, e.message)
    signer = next((k for k in keys if envelope.verify(k)), None)
    if signer is None:
        return Verdict(UNVERIFIED, "the DSSE signature does not verify with the trusted key(s)")
    try:
        check_subject(envelope.statement(), subject.hex)
    except DockyardError as e:
        return Verdict(UNVERIFIED, e.message)
    return Verdict(VERIFIED, key_id(signer))
