"""Sign and verify images in an OCI layout: cosign's layout, an independent verifier, tampering."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from _infra import run_dockyard
from dockyard.digest import Digest
from dockyard.errors import SignatureInvalid
from dockyard.sign import (
    LayoutRepository,
    PrivateKey,
    attachment_tag,
    attest_image,
    generate_key_pair,
    sign_image,
    tree,
    verify_attestations,
    verify_image,
)

PASSWORD = {"COSIGN_PASSWORD": "pw"}


def _keys() -> tuple[PrivateKey, Any]:
    pair = generate_key_pair(b"")
    return pair.key, pair.key.public_key()


def _fetchers(root: Path) -> tuple[Callable[[str], bytes], Callable[[str], bytes]]:
    """Read an OCI layout with nothing but json and open()."""

    def blob(digest: str) -> bytes:
        algorithm, hex_ = digest.split(":")
        return (root / "blobs" / algorithm / hex_).read_bytes()

    def manifest(tag: str) -> bytes:
        index = json.loads((root / "index.json").read_bytes())
        for entry in index["manifests"]:
            if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
                return blob(entry["digest"])
        raise KeyError(tag)

    return manifest, blob


def test_signature_is_byte_compatible_with_cosigns_layout(
    layout_image: Any, spec_verify: Callable[..., list[dict[str, Any]]]
) -> None:
    key, public = _keys()
    repo = LayoutRepository(layout_image.root, name="127.0.0.1:5000/app")
    digest = layout_image.manifest.digest
    sign_image(repo, digest, key)
    sign_image(repo, digest, key, annotations={"env": "prod", "a&b": "<x>"})
    fetch_manifest, fetch_blob = _fetchers(layout_image.root)
    payloads = spec_verify(fetch_manifest, fetch_blob, str(digest), repo.name, public.pem)
    assert [p["optional"] for p in payloads] == [None, {"a&b": "<x>", "env": "prod"}]
    # Go's json.Marshal escapes <, > and & in strings; so must we, byte for byte
    raw_layers = json.loads(fetch_manifest(attachment_tag(digest, "sig")))["layers"]
    assert b"\\u003cx\\u003e" in fetch_blob(raw_layers[1]["digest"])


def test_second_signature_keeps_the_first(layout_image: Any) -> None:
    key, public = _keys()
    other_key, other_public = _keys()
    repo = LayoutRepository(layout_image.root)
    digest = layout_image.manifest.digest
    sign_image(repo, digest, key)
    sign_image(repo, digest, other_key)
    assert len(verify_image(repo, digest, [public])) == 1
    assert len(verify_image(repo, digest, [other_public])) == 1
    assert len(verify_image(repo, digest, [public, other_public])) == 2
    sign_image(repo, digest, key)  # ECDSA is randomised: a new layer, the old ones stay
    assert len(verify_image(repo, digest, [public])) == 2


def _rewrite_sig_manifest(
    repo: LayoutRepository, digest: Digest, change: Callable[[dict[str, Any]], None]
) -> None:
    tag = attachment_tag(digest, "sig")
    raw, media_type = repo.get_manifest(tag)
    obj = json.loads(raw)
    change(obj)
    repo.put_manifest(json.dumps(obj).encode(), media_type, tag)


def test_tampered_payload_fails(layout_image: Any) -> None:
    key, public = _keys()
    repo = LayoutRepository(layout_image.root)
    digest = layout_image.manifest.digest
    signed = sign_image(repo, digest, key)
    forged = signed.payload.replace(b'"optional":null', b'"optional":{"approved":"yes"}')
    forged_digest = repo.put_blob(forged)

    def swap(obj: dict[str, Any]) -> None:
        obj["layers"][0]["digest"] = str(forged_digest)
        obj["layers"][0]["size"] = len(forged)

    _rewrite_sig_manifest(repo, digest, swap)
    with pytest.raises(SignatureInvalid, match="signature does not verify"):
        verify_image(repo, digest, [public])


def test_tampered_payload_blob_in_place_fails(layout_image: Any) -> None:
    key, public = _keys()
    repo = LayoutRepository(layout_image.root)
    digest = layout_image.manifest.digest
    signed = sign_image(repo, digest, key)
    blob = Digest("sha256", __import__("hashlib").sha256(signed.payload).hexdigest())
    path = layout_image.root / "blobs" / "sha256" / blob.hex
    path.write_bytes(signed.payload.replace(b"cosign container", b"cosign-container"))
    with pytest.raises(SignatureInvalid, match="digest mismatch"):
        verify_image(repo, digest, [public])


def test_tampered_signature_annotation_fails(layout_image: Any) -> None:
    key, public = _keys()
    repo = LayoutRepository(layout_image.root)
    digest = layout_image.manifest.digest
    sign_image(repo, digest, key)
    other = base64.b64encode(key.sign(b"something else")).decode()

    def swap(obj: dict[str, Any]) -> None:
        obj["layers"][0]["annotations"]["dev.cosignproject.cosign/signature"] = other

    _rewrite_sig_manifest(repo, digest, swap)
    with pytest.raises(SignatureInvalid, match="signature does not verify"):
        verify_image(repo, digest, [public])


def test_changed_image_manifest_or_layer_fails(layout_image: Any, make_layout_image: Any) -> None:
    key, public = _keys()
    repo = LayoutRepository(layout_image.root)
    digest = layout_image.manifest.digest
    sign_image(repo, digest, key)
    # a different layer means a different manifest under the same tag
    changed = make_layout_image(layout_image.root, "v1", b"evil\n")
    new_digest = changed.manifest.digest
    assert repo.resolve("v1").digest == new_digest != digest
    with pytest.raises(SignatureInvalid, match="no signatures found"):
        verify_image(repo, new_digest, [public])
    # the attacker copies the old signature to the new manifest's tag: the claim names the old
    raw, media_type = repo.get_manifest(attachment_tag(digest, "sig"))
    repo.put_manifest(raw, media_type, attachment_tag(new_digest, "sig"))
    with pytest.raises(SignatureInvalid, match="invalid or missing digest in claim"):
        verify_image(repo, new_digest, [public])
    assert verify_image(repo, digest, [public])  # the original stays verifiable


def test_untrusted_key_fails(layout_image: Any) -> None:
    key, _ = _keys()
    _, stranger = _keys()
    repo = LayoutRepository(layout_image.root)
    sign_image(repo, layout_image.manifest.digest, key)
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_image(repo, layout_image.manifest.digest, [stranger])


def test_referrer_signatures_and_tree(layout_image: Any) -> None:
    key, public = _keys()
    repo = LayoutRepository(layout_image.root)
    digest = layout_image.manifest.digest
    signed = sign_image(repo, digest, key, referrers=True)
    raw, _ = repo.get_manifest(str(signed.manifest))
    obj = json.loads(raw)
    assert obj["subject"]["digest"] == str(digest)
    assert obj["config"]["mediaType"] == "application/vnd.dev.cosign.artifact.sig.v1+json"
    assert attachment_tag(digest, "sig") not in repo.tags()
    assert [v.payload for v in verify_image(repo, digest, [public])] == [signed.payload]
    attest_image(repo, digest, key, b'{"builder":{"id":"x"}}', "slsaprovenance")
    listing = tree(repo, digest)
    assert [a.kind for a in listing.attached] == ["attestations"]
    assert [r.digest for r in listing.referrers] == [signed.manifest]


def test_attestations(layout_image: Any) -> None:
    key, public = _keys()
    repo = LayoutRepository(layout_image.root)
    digest = layout_image.manifest.digest
    attest_image(repo, digest, key, b'{"builder":{"id":"x"}}', "slsaprovenance")
    attest_image(repo, digest, key, b"free text", "custom")
    found = verify_attestations(repo, digest, [public])
    assert [a.statement["predicateType"] for a in found] == [
        "https://slsa.dev/provenance/v0.2",
        "https://cosign.sigstore.dev/attestation/v1",
    ]
    assert found[1].statement["predicate"]["Data"] == "free text"
    assert found[0].statement["subject"][0]["digest"] == {"sha256": digest.hex}
    only = verify_attestations(repo, digest, [public], "slsaprovenance")
    assert len(only) == 1
    with pytest.raises(SignatureInvalid, match="predicate type"):
        verify_attestations(repo, digest, [public], "spdx")
    raw, _ = repo.get_manifest(attachment_tag(digest, "att"))
    layer = json.loads(raw)["layers"][0]
    assert layer["mediaType"] == "application/vnd.dsse.envelope.v1+json"
    assert layer["annotations"]["predicateType"] == "https://slsa.dev/provenance/v0.2"


@pytest.mark.slow
def test_cli_sign_verify_roundtrip(layout_image: Any, tmp_path: Path) -> None:
    root = tmp_path / "store"
    prefix = tmp_path / "cosign"
    run_dockyard("generate-key-pair", "--output-key-prefix", prefix, root=root, env=PASSWORD)
    key, pub = f"{prefix}.key", f"{prefix}.pub"
    digest = layout_image.manifest.digest
    by_tag = run_dockyard(
        "sign", "--key", key, "-a", "env=prod", layout_image.ref, root=root, env=PASSWORD
    )
    assert "uses a tag, not a digest" in by_tag.stderr
    by_digest = f"oci:{layout_image.root}@{digest}"
    quiet = run_dockyard("sign", "--key", key, by_digest, root=root, env=PASSWORD)
    assert "WARNING" not in quiet.stderr
    out = run_dockyard("verify", "--key", pub, layout_image.ref, root=root)
    payloads = json.loads(out.stdout)
    assert [p["optional"] for p in payloads] == [{"env": "prod"}, None]
    assert {p["critical"]["image"]["docker-manifest-digest"] for p in payloads} == {str(digest)}
    assert "The signatures were verified against the specified public key" in out.stderr
    only = run_dockyard("verify", "--key", pub, "-a", "env=prod", by_digest, root=root)
    assert len(json.loads(only.stdout)) == 1
    bad = run_dockyard("verify", "--key", pub, "-a", "env=dev", by_digest, root=root, check=False)
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert "missing or incorrect annotation: env=dev" in bad.stderr
    tree_out = run_dockyard("tree", "--format", "json", layout_image.ref, root=root)
    assert json.loads(tree_out.stdout)["attached"][0]["tag"] == attachment_tag(digest, "sig")


def test_cli_verify_unsigned_image_exits_1(layout_image: Any, tmp_path: Path) -> None:
    pair = generate_key_pair(b"")
    (tmp_path / "k.pub").write_bytes(pair.public_pem)
    done = run_dockyard(
        "verify", "--key", tmp_path / "k.pub", layout_image.ref, root=tmp_path / "s", check=False
    )
    assert done.returncode == 1
    assert f"Error: no signatures found for {layout_image.manifest.digest}" in done.stderr


@pytest.mark.slow
def test_cli_attest_and_verify_attestation(layout_image: Any, tmp_path: Path) -> None:
    root = tmp_path / "store"
    prefix = tmp_path / "cosign"
    run_dockyard("generate-key-pair", "--output-key-prefix", prefix, root=root, env=PASSWORD)
    predicate = tmp_path / "pred.json"
    predicate.write_text('{"builder":{"id":"https://example.com/ci"}}')
    run_dockyard(
        "attest",
        "--key",
        f"{prefix}.key",
        "--predicate",
        predicate,
        "--type",
        "slsaprovenance",
        layout_image.ref,
        root=root,
        env=PASSWORD,
    )
    out = run_dockyard(
        "verify-attestation",
        "--key",
        f"{prefix}.pub",
        "--type",
        "slsaprovenance",
        layout_image.ref,
        root=root,
    )
    envelope = json.loads(out.stdout.splitlines()[0])
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["predicate"] == {"builder": {"id": "https://example.com/ci"}}
    none = run_dockyard(
        "verify-attestation",
        "--key",
        f"{prefix}.pub",
        "--type",
        "spdx",
        layout_image.ref,
        root=root,
        check=False,
    )
    assert none.returncode == 1 and "predicate type" in none.stderr
