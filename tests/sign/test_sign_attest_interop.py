"""Attestations: what ``dockyard attest`` writes has cosign's shape, and what cosign wrote (the
real DSSE envelopes of cosign's own tests) is accepted by the same reader when it sits in
cosign's attestation layout (``sha256-<hex>.att``, DSSE layer, ``predicateType`` annotation),
while the envelopes whose subject does not name the digest are refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from dockyard.digest import Digest
from dockyard.errors import SignatureInvalid
from dockyard.sign import (
    DSSE_MEDIA_TYPE,
    INTOTO_PAYLOAD_TYPE,
    Envelope,
    Layer,
    LayoutRepository,
    PrivateKey,
    append_to_tag,
    attachment_tag,
    attest_image,
    load_public_key,
    verify_attestations,
)

#: sha256 of the blob ``some-payload`` that cosign's envelopes 1 and 4 attest to
SUBJECT = Digest.parse("sha256:658781cd4ed9bca60dacd09f7bb914bb51502e8b5d619f57f39a1d652596cc24")
TESTS_PASSED = "https://example.com/attestations/tests-passed/v1"


def _envelopes(cosign_vectors: Path) -> dict[str, Any]:
    data = json.loads(
        (cosign_vectors / "verify_blob_attestation_test-dsse-envelopes.json").read_text()
    )
    return dict(data)


def _layer(envelope: dict[str, Any]) -> Layer:
    statement = json.loads(base64.b64decode(envelope["payload"]))
    raw = json.dumps(envelope, separators=(",", ":")).encode()
    annotations = {
        "dev.cosignproject.cosign/signature": "",
        "predicateType": statement["predicateType"],
    }
    return Layer(raw, DSSE_MEDIA_TYPE, annotations)


def _empty_layout(root: Path) -> LayoutRepository:
    root.mkdir(parents=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (root / "index.json").write_text('{"schemaVersion":2,"manifests":[]}')
    return LayoutRepository(root)


@pytest.mark.parametrize("name", ["blobSLSAProvenanceSignature", "dssePredicateMultipleSubjects"])
def test_cosign_attestations_in_the_att_layout_verify(
    cosign_vectors: Path, tmp_path: Path, name: str
) -> None:
    envelopes = _envelopes(cosign_vectors)
    key = load_public_key((cosign_vectors / "verify_blob_attestation_test-pubkey.pub").read_bytes())
    repo = _empty_layout(tmp_path / "layout")
    append_to_tag(repo, SUBJECT, "att", _layer(envelopes[name]))
    [found] = verify_attestations(repo, SUBJECT, [key], "slsaprovenance")
    digests = [s["digest"].get("sha256") for s in found.statement["subject"]]
    assert SUBJECT.hex in digests
    assert found.layer.media_type == DSSE_MEDIA_TYPE
    # another key: the same layout, nothing verifies
    stranger = PrivateKey(ec.generate_private_key(ec.SECP256R1())).public_key()
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_attestations(repo, SUBJECT, [stranger])


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("dssePredicateEmptySubject", "no subject"),
        ("dssePredicateMissingSha256", "no subject of the attestation has a sha256 digest"),
        ("dssePredicateMultipleSubjectsInvalid", "no matching subject digest"),
    ],
)
def test_cosign_attestations_about_other_digests_are_refused(
    cosign_vectors: Path, tmp_path: Path, name: str, reason: str
) -> None:
    envelopes = _envelopes(cosign_vectors)
    if name not in envelopes:
        pytest.fail(f"{name} is missing from the cosign vectors: {sorted(envelopes)}")
    key = load_public_key((cosign_vectors / "verify_blob_attestation_test-pubkey.pub").read_bytes())
    repo = _empty_layout(tmp_path / "layout")
    append_to_tag(repo, SUBJECT, "att", _layer(envelopes[name]))
    with pytest.raises(SignatureInvalid, match=reason):
        verify_attestations(repo, SUBJECT, [key])


def test_what_dockyard_writes_has_cosigns_shape(cosign_vectors: Path, layout_image: Any) -> None:
    cosign_envelope = _envelopes(cosign_vectors)["blobSLSAProvenanceSignature"]
    cosign_statement = json.loads(base64.b64decode(cosign_envelope["payload"]))
    key = PrivateKey(ec.generate_private_key(ec.SECP256R1()))
    repo = LayoutRepository(layout_image.root)
    digest = layout_image.manifest.digest
    predicate = b'{"suite": "unit", "result": "passed"}'
    now = datetime(2026, 1, 2, tzinfo=UTC)
    attest_image(repo, digest, key, predicate, TESTS_PASSED, now=now)
    raw, _ = repo.get_manifest(attachment_tag(digest, "att"))
    [layer] = json.loads(raw)["layers"]
    assert layer["mediaType"] == "application/vnd.dsse.envelope.v1+json"
    assert layer["annotations"]["predicateType"] == TESTS_PASSED
    blob = (layout_image.root / "blobs" / "sha256" / layer["digest"].split(":")[1]).read_bytes()
    ours = json.loads(blob)
    assert set(ours) == set(cosign_envelope)  # payloadType, payload, signatures
    assert set(ours["signatures"][0]) == set(cosign_envelope["signatures"][0])  # keyid, sig
    assert ours["payloadType"] == INTOTO_PAYLOAD_TYPE == cosign_envelope["payloadType"]
    statement = json.loads(base64.b64decode(ours["payload"]))
    assert set(statement) == set(cosign_statement)  # _type, predicateType, subject, predicate
    assert statement["_type"] == cosign_statement["_type"] == "https://in-toto.io/Statement/v0.1"
    assert statement["subject"] == [{"name": repo.name, "digest": {"sha256": digest.hex}}]
    assert statement["predicate"] == {"suite": "unit", "result": "passed"}
    # and the verifier that accepts cosign's envelopes accepts ours, signature over the PAE
    envelope = Envelope.parse(blob)
    assert envelope.verify(key.public_key())
    [found] = verify_attestations(repo, digest, [key.public_key()], TESTS_PASSED)
    assert found.statement == statement
