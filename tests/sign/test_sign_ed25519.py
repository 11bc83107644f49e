"""ed25519 keys: cosign signs with Ed25519ph (RFC 8032, SHA-512 pre-hash, empty context).

The reference below is a small pure-Python RFC 8032 implementation written for these tests
(no libsodium, no ``cryptography``, no dockyard): it checks dockyard's signatures
independently and shows they are the bytes any RFC 8032 Ed25519ph signer (Go's
``ed25519.Sign`` with ``Options{Hash: crypto.SHA512}``, which cosign uses) writes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from _infra import run_dockyard
from dockyard.errors import SignatureInvalid
from dockyard.sign import (
    LayoutRepository,
    PrivateKey,
    attachment_tag,
    attest_image,
    pae,
    sign_image,
    verify_attestations,
    verify_image,
)

# --- RFC 8032 (section 5.1) reference, Ed25519ph only -------------------------------------
_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_DOM2_PH = b"SigEd25519 no Ed25519 collisions" + bytes([1, 0])  # phflag 1, empty context
_Point = tuple[int, int, int, int]


def _add(a: _Point, b: _Point) -> _Point:
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa, bb = (y1 - x1) * (y2 - x2) % _P, (y1 + x1) * (y2 + x2) % _P
    cc, dd = t1 * 2 * _D * t2 % _P, z1 * 2 * z2 % _P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(s: int, point: _Point) -> _Point:
    result: _Point = (0, 1, 1, 0)
    while s:
        if s & 1:
            result = _add(result, point)
        point, s = _add(point, point), s >> 1
    return result


def _x_of(y: int, sign: int) -> int | None:
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    return _P - x if (x & 1) != sign else x


def _decode(raw: bytes) -> _Point | None:
    y = int.from_bytes(raw, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = None if y >= _P else _x_of(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


def _encode(point: _Point) -> bytes:
    x, y, z, _ = point
    zi = pow(z, _P - 2, _P)
    x, y = x * zi % _P, y * zi % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


_G = _decode((4 * pow(5, _P - 2, _P) % _P).to_bytes(32, "little"))
assert _G is not None


def _h(*parts: bytes) -> int:
    return int.from_bytes(hashlib.sha512(b"".join(parts)).digest(), "little") % _L


def ref_sign_ph(seed: bytes, message: bytes) -> bytes:
    assert _G is not None
    digest = hashlib.sha512(seed).digest()
    a = int.from_bytes(digest[:32], "little") & ((1 << 254) - 8) | (1 << 254)
    public = _encode(_mul(a, _G))
    ph = hashlib.sha512(message).digest()
    r = _h(_DOM2_PH, digest[32:], ph)
    big_r = _encode(_mul(r, _G))
    s = (r + _h(_DOM2_PH, big_r, public, ph) * a) % _L
    return big_r + s.to_bytes(32, "little")


def ref_verify_ph(public: bytes, message: bytes, signature: bytes) -> bool:
    assert _G is not None
    a, r = _decode(public), _decode(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if len(signature) != 64 or a is None or r is None or s >= _L:
        return False
    k = _h(_DOM2_PH, signature[:32], public, hashlib.sha512(message).digest())
    lhs, rhs = _mul(s, _G), _add(r, _mul(k, a))
    return (lhs[0] * rhs[2] - rhs[0] * lhs[2]) % _P == 0 and (
        lhs[1] * rhs[2] - rhs[1] * lhs[2]
    ) % _P == 0


# --- RFC 8032 section 7.3, "TEST abc" -----------------------------------------------------
RFC_SEED = bytes.fromhex("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42")
RFC_PUBLIC = bytes.fromhex("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf")
RFC_SIGNATURE = bytes.fromhex(
    "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41"
    "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406"
)
RAW = serialization.Encoding.Raw


def _raw_public(key: PrivateKey) -> bytes:
    pub = key.public_key().key
    assert isinstance(pub, ed25519.Ed25519PublicKey)
    return pub.public_bytes(RAW, serialization.PublicFormat.Raw)


def test_rfc8032_ed25519ph_vector() -> None:
    key = PrivateKey(ed25519.Ed25519PrivateKey.from_private_bytes(RFC_SEED))
    assert _raw_public(key) == RFC_PUBLIC
    assert key.sign(b"abc") == RFC_SIGNATURE
    assert key.public_key().verify(RFC_SIGNATURE, b"abc")
    assert not key.public_key().verify(RFC_SIGNATURE, b"abd")
    # the reference agrees with the RFC, so it can judge dockyard below
    assert ref_sign_ph(RFC_SEED, b"abc") == RFC_SIGNATURE
    assert ref_verify_ph(RFC_PUBLIC, b"abc", RFC_SIGNATURE)
    assert not ref_verify_ph(RFC_PUBLIC, b"abd", RFC_SIGNATURE)


def test_both_ed25519_variants_verify_and_are_not_interchangeable() -> None:
    raw = ed25519.Ed25519PrivateKey.from_private_bytes(RFC_SEED)
    public = PrivateKey(raw).public_key()
    pure = raw.sign(b"abc")  # what cosign before v2.6.0 wrote, and `cosign verify --key` checks
    assert pure != RFC_SIGNATURE
    assert public.verify(pure, b"abc")
    assert not ref_verify_ph(RFC_PUBLIC, b"abc", pure)
    # a pure signature over the SHA-512 pre-hash is not an Ed25519ph signature (dom2 prefix)
    over_digest = raw.sign(hashlib.sha512(b"abc").digest())
    assert not public.verify(over_digest, b"abc")
    flipped = bytes([RFC_SIGNATURE[0] ^ 1]) + RFC_SIGNATURE[1:]
    assert not public.verify(flipped, b"abc")
    assert not public.verify(RFC_SIGNATURE[:63], b"abc")


def _sig_layers(root: Path, image: str) -> list[tuple[bytes, bytes]]:
    """(payload, signature) per layer of the ``.sig`` manifest, read with json and open()."""

    def blob(digest: str) -> bytes:
        return (root / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()

    index = json.loads((root / "index.json").read_bytes())
    tag = image.replace(":", "-", 1) + ".sig"
    [entry] = [
        m
        for m in index["manifests"]
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag
    ]
    layers = json.loads(blob(entry["digest"]))["layers"]
    out = []
    for layer in layers:
        assert layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
        payload = blob(layer["digest"])
        assert "sha256:" + hashlib.sha256(payload).hexdigest() == layer["digest"]
        sig = base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"])
        out.append((payload, sig))
    return out


@pytest.mark.slow
def test_imported_ed25519_key_signs_images_like_cosign(
    cosign_vectors: Path, layout_image: Any, tmp_path: Path
) -> None:
    pem = cosign_vectors / "keys_test-ed25519-pkcs8-unencrypted.pem"
    env = {"COSIGN_PASSWORD": "pw"}
    root, prefix = tmp_path / "store", tmp_path / "ed"
    run_dockyard("import-key-pair", "--key", pem, "--output-key-prefix", prefix, root=root, env=env)
    digest = str(layout_image.manifest.digest)
    by_digest = f"oci:{layout_image.root}@{digest}"
    run_dockyard("sign", "--key", f"{prefix}.key", by_digest, root=root, env=env)
    out = run_dockyard("verify", "--key", f"{prefix}.pub", by_digest, root=root)
    [claims] = json.loads(out.stdout)
    assert claims["critical"]["image"]["docker-manifest-digest"] == digest

    # independently: the key straight from the PEM, the signature from the layout's files
    source = serialization.load_pem_private_key(pem.read_bytes(), password=None)
    assert isinstance(source, ed25519.Ed25519PrivateKey)
    seed = source.private_bytes(RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    public = source.public_key().public_bytes(RAW, serialization.PublicFormat.Raw)
    [(payload, signature)] = _sig_layers(layout_image.root, digest)
    assert json.loads(payload)["critical"]["image"]["docker-manifest-digest"] == digest
    assert ref_verify_ph(public, payload, signature)
    # deterministic: byte for byte the signature every RFC 8032 Ed25519ph signer writes
    assert signature == ref_sign_ph(seed, payload)

    # tampering: the payload claims more, or the signature annotation changes
    assert not ref_verify_ph(public, payload.replace(b"null", b'{"a":"b"}'), signature)
    repo = LayoutRepository(layout_image.root)
    tag = attachment_tag(layout_image.manifest.digest, "sig")
    raw, media_type = repo.get_manifest(tag)
    manifest = json.loads(raw)
    forged = payload.replace(b'"optional":null', b'"optional":{"approved":"yes"}')
    manifest["layers"][0]["digest"] = str(repo.put_blob(forged))
    manifest["layers"][0]["size"] = len(forged)
    repo.put_manifest(json.dumps(manifest).encode(), media_type, tag)
    bad = run_dockyard("verify", "--key", f"{prefix}.pub", by_digest, root=root, check=False)
    assert bad.returncode == 1
    assert "signature does not verify" in bad.stderr
    assert not ref_verify_ph(public, forged, signature)


def test_ed25519_signature_tampering_fails(layout_image: Any) -> None:
    raw = ed25519.Ed25519PrivateKey.generate()
    key = PrivateKey(raw)
    public = key.public_key()
    repo = LayoutRepository(layout_image.root)
    digest = layout_image.manifest.digest
    signed = sign_image(repo, digest, key)
    assert ref_verify_ph(_raw_public(key), signed.payload, base64.b64decode(signed.signature))
    assert len(verify_image(repo, digest, [public])) == 1
    tag = attachment_tag(digest, "sig")
    for other in (key.sign(b"something else"), bytes(64), b"\x00"):
        raw_manifest, media_type = repo.get_manifest(tag)
        obj = json.loads(raw_manifest)
        annotations = obj["layers"][0]["annotations"]
        annotations["dev.cosignproject.cosign/signature"] = base64.b64encode(other).decode()
        repo.put_manifest(json.dumps(obj).encode(), media_type, tag)
        with pytest.raises(SignatureInvalid, match="signature does not verify"):
            verify_image(repo, digest, [public])
    stranger = PrivateKey(ed25519.Ed25519PrivateKey.generate()).public_key()
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_image(repo, digest, [stranger])


def test_ed25519_attestation_signs_the_pae_with_ed25519ph(layout_image: Any) -> None:
    key = PrivateKey(ed25519.Ed25519PrivateKey.generate())
    repo = LayoutRepository(layout_image.root)
    digest = layout_image.manifest.digest
    signed = attest_image(repo, digest, key, b'{"builder":"x"}', "slsaprovenance")
    envelope = json.loads(signed.payload)
    message = pae(envelope["payloadType"], base64.b64decode(envelope["payload"]))
    signature = base64.b64decode(envelope["signatures"][0]["sig"])
    assert ref_verify_ph(_raw_public(key), message, signature)
    assert len(verify_attestations(repo, digest, [key.public_key()])) == 1
