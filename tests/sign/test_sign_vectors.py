"""Every cosign test vector: positives accepted, negatives rejected with the reason named."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.errors import SignatureInvalid
from dockyard.reference import Reference
from dockyard.sign import (
    BUNDLE_ANNOTATION,
    Envelope,
    Layer,
    LayoutRepository,
    PublicKey,
    append_to_tag,
    check_subject,
    docker_reference,
    load_public_key,
    make_payload,
    pae,
    verify_image,
    verify_signature_layer,
)

_PREFIX = b"\x00sigstore-json\n"


@dataclass(frozen=True)
class Attachment:
    media_type: str
    payload: bytes
    annotations: dict[str, str]


def _attachment(path: Path) -> Attachment:
    """containers/image's stored form of one cosign signature layer."""
    raw = path.read_bytes()
    assert raw.startswith(_PREFIX), f"{path} is not a sigstore-json attachment"
    obj = json.loads(raw[len(_PREFIX) :])
    return Attachment(obj["mimeType"], base64.b64decode(obj["payload"]), obj["annotations"])


def _image_digest(directory: Path) -> Digest:
    return Digest("sha256", hashlib.sha256((directory / "manifest.json").read_bytes()).hexdigest())


def _key(vectors: Path, name: str) -> PublicKey:
    return load_public_key((vectors / "containers-image" / name).read_bytes())


def test_simple_signing_payload_is_byte_for_byte_cosigns(cosign_vectors: Path) -> None:
    expected = (cosign_vectors / "obsolete_test-simplesigning-payload.json").read_bytes()
    # the vector file ends with one newline added when it was saved; cosign's bytes do not
    assert expected.endswith(b"}\n") and not expected.endswith(b"\n\n")
    digest = Digest.parse("sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec")
    repo = docker_reference(Reference.parse("namespace/image:sometag"))
    assert repo == "index.docker.io/namespace/image"
    assert make_payload(repo, digest) == expected[:-1]


@pytest.mark.parametrize(
    ("directory", "key", "count"),
    [
        ("dir-img-cosign-valid", "cosign.pub", 1),
        ("dir-img-cosign-valid-with-tag", "cosign.pub", 1),
        ("dir-img-cosign-valid-2", "cosign.pub", 2),
        ("dir-img-cosign-key-rekor-valid", "cosign2.pub", 1),
    ],
)
def test_real_cosign_signatures_verify(
    cosign_vectors: Path, directory: str, key: str, count: int
) -> None:
    folder = cosign_vectors / "containers-image" / directory
    digest = _image_digest(folder)
    sigs = sorted(folder.glob("signature-*"))
    assert len(sigs) == count
    for path in sigs:
        att = _attachment(path)
        claims = verify_signature_layer(
            att.media_type, att.annotations, att.payload, digest, [_key(cosign_vectors, key)]
        )
        assert claims.manifest_digest == str(digest)
    if directory == "dir-img-cosign-valid-with-tag":
        assert claims.docker_reference == "192.168.64.2:5000/skopeo-signed:tag"
    if directory == "dir-img-cosign-key-rekor-valid":
        assert BUNDLE_ANNOTATION in att.annotations  # present, and ignored offline
        with pytest.raises(SignatureInvalid, match="does not verify"):
            verify_signature_layer(
                att.media_type,
                att.annotations,
                att.payload,
                digest,
                [_key(cosign_vectors, "cosign.pub")],
            )


def test_internal_valid_signature_matches_the_valid_image(cosign_vectors: Path) -> None:
    att = _attachment(cosign_vectors / "containers-image" / "internal-valid.signature")
    digest = _image_digest(cosign_vectors / "containers-image" / "dir-img-cosign-valid")
    verify_signature_layer(
        att.media_type, att.annotations, att.payload, digest, [_key(cosign_vectors, "cosign.pub")]
    )


@pytest.mark.parametrize(
    ("directory", "reason"),
    [
        ("dir-img-cosign-modified-manifest", "invalid or missing digest in claim"),
        ("dir-img-cosign-manifest-digest-error", "invalid or missing digest in claim"),
        ("dir-img-cosign-other-attachment", "is not application/vnd.dev.cosign.simplesigning"),
    ],
)
def test_negative_image_vectors(cosign_vectors: Path, directory: str, reason: str) -> None:
    folder = cosign_vectors / "containers-image" / directory
    keys = [_key(cosign_vectors, "cosign.pub"), _key(cosign_vectors, "cosign2.pub")]
    att = _attachment(folder / "signature-1")
    with pytest.raises(SignatureInvalid, match=reason):
        verify_signature_layer(
            att.media_type, att.annotations, att.payload, _image_digest(folder), keys
        )


def test_unknown_key_signature_is_rejected(cosign_vectors: Path) -> None:
    att = _attachment(cosign_vectors / "containers-image" / "unknown-cosign-key.signature")
    digest = Digest.parse(json.loads(att.payload)["critical"]["image"]["docker-manifest-digest"])
    keys = [_key(cosign_vectors, "cosign.pub"), _key(cosign_vectors, "cosign2.pub")]
    with pytest.raises(SignatureInvalid, match="signature does not verify"):
        verify_signature_layer(att.media_type, att.annotations, att.payload, digest, keys)


def _layout_with(
    tmp_path: Path, folder: Path, attachments: list[Attachment]
) -> tuple[LayoutRepository, Digest]:
    """The fixture image and its real signature layers in an OCI layout, cosign's tag schema."""
    root = tmp_path / folder.name
    (root / "blobs" / "sha256").mkdir(parents=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (root / "index.json").write_text(
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'
    )
    repo = LayoutRepository(root)
    raw = (folder / "manifest.json").read_bytes()
    digest = repo.put_blob(raw)
    for att in attachments:
        append_to_tag(repo, digest, "sig", Layer(att.payload, att.media_type, att.annotations))
    return repo, digest


def test_repository_level_verification_of_real_signatures(
    cosign_vectors: Path, tmp_path: Path
) -> None:
    base = cosign_vectors / "containers-image"
    key = _key(cosign_vectors, "cosign.pub")
    folder = base / "dir-img-cosign-valid-2"
    repo, digest = _layout_with(
        tmp_path, folder, [_attachment(p) for p in sorted(folder.glob("signature-*"))]
    )
    assert len(verify_image(repo, digest, [key])) == 2

    # a text/plain layer carrying a signature annotation is ignored, not trusted
    other = base / "dir-img-cosign-other-attachment"
    repo, digest = _layout_with(tmp_path, other, [_attachment(other / "signature-1")])
    with pytest.raises(SignatureInvalid, match="no signatures found"):
        verify_image(repo, digest, [key])

    modified = base / "dir-img-cosign-modified-manifest"
    repo, digest = _layout_with(tmp_path, modified, [_attachment(modified / "signature-1")])
    with pytest.raises(SignatureInvalid, match="invalid or missing digest in claim"):
        verify_image(repo, digest, [key])


# --- DSSE attestations (verify-blob-attestation vectors) ----------------------------------


def _envelopes(vectors: Path) -> tuple[dict[str, Envelope], str, PublicKey]:
    data = json.loads((vectors / "verify_blob_attestation_test-dsse-envelopes.json").read_bytes())
    blob = data.pop("_blob")
    assert hashlib.sha256(blob["blobContents"].encode()).hexdigest() == blob["blobSha256"]
    envelopes = {name: Envelope.parse(json.dumps(e).encode()) for name, e in data.items()}
    key = load_public_key((vectors / "verify_blob_attestation_test-pubkey.pub").read_bytes())
    return envelopes, blob["blobSha256"], key


def test_dsse_signatures_are_over_pae_not_the_payload(cosign_vectors: Path) -> None:
    envelopes, _, key = _envelopes(cosign_vectors)
    assert len(envelopes) == 5
    for name, envelope in envelopes.items():
        assert envelope.verify(key), name
        assert not key.verify(envelope.signatures[0], envelope.payload), name
        assert key.verify(envelope.signatures[0], pae(envelope.payload_type, envelope.payload))


@pytest.mark.parametrize("name", ["blobSLSAProvenanceSignature", "dssePredicateMultipleSubjects"])
def test_dsse_subject_matches_the_blob(cosign_vectors: Path, name: str) -> None:
    envelopes, blob_sha, _ = _envelopes(cosign_vectors)
    check_subject(envelopes[name].statement(), blob_sha)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("dssePredicateEmptySubject", "has no subject"),
        ("dssePredicateMissingSha256", "no subject of the attestation has a sha256 digest"),
        ("dssePredicateMultipleSubjectsInvalid", "no matching subject digest found"),
    ],
)
def test_dsse_subject_claim_negatives(cosign_vectors: Path, name: str, reason: str) -> None:
    envelopes, blob_sha, key = _envelopes(cosign_vectors)
    assert envelopes[name].verify(key)  # the signature itself is valid ...
    with pytest.raises(SignatureInvalid, match=reason):  # ... the claim is not
        check_subject(envelopes[name].statement(), blob_sha)


def test_dsse_tampered_payload_fails(cosign_vectors: Path) -> None:
    envelopes, _, key = _envelopes(cosign_vectors)
    good = envelopes["blobSLSAProvenanceSignature"]
    bad = Envelope(good.payload_type, good.payload.replace(b'"2"', b'"3"'), good.signatures, b"")
    assert bad.payload != good.payload
    assert not bad.verify(key)
