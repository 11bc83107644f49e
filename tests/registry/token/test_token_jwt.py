"""Token keys and JWTs: the libtrust kid, issue/verify, and the attacks verification refuses."""

from __future__ import annotations

import base64
import datetime as dt
import json
import stat
import time
from pathlib import Path

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from _infra.token_server import libtrust_key_id
from dockyard.errors import InvalidArgument
from dockyard.registry.identity import Scope
from dockyard.registry.token import (
    MAX_TOKEN_BYTES,
    InvalidToken,
    SigningKey,
    TrustedKeys,
    issue_token,
    key_id,
    load_jwks,
    load_or_create_signing_key,
    load_trusted_certificates,
    verify_token,
)

ISS, AUD = "issuer-x", "service-y"
PULL = Scope("repository", "team/app", ("pull",))


def _cert(private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, signer=None, *, ca=True):  # type: ignore[no-untyped-def]
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")])
    now = dt.datetime.now(dt.UTC)
    signer_key, issuer = signer or (private, name)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signer_key, hashes.SHA256())
    )


def _key() -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    return SigningKey.of(private, _cert(private))


def _token(key: SigningKey, **kw: object) -> str:
    args: dict[str, object] = dict(
        issuer=ISS, subject="alice", audience=AUD, access=[PULL], lifetime=300
    )
    args.update(kw)
    return issue_token(key, **args)  # type: ignore[arg-type]


def _verify(token: str, key: SigningKey, **kw: object) -> object:
    return verify_token(token, TrustedKeys.of_signing_key(key), issuer=ISS, audience=AUD, **kw)  # type: ignore[arg-type]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_kid_is_libtrusts_fingerprint() -> None:
    key = _key()
    kid = key_id(key.public)
    groups = kid.split(":")
    assert len(groups) == 12 and all(len(g) == 4 for g in groups)
    assert kid == libtrust_key_id(key.public)  # type: ignore[arg-type]  # the tests' independent copy
    # a known vector: base32 of the first 30 bytes of SHA-256 of the DER SubjectPublicKeyInfo
    der = key.public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import hashlib

    assert kid.replace(":", "") == base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()


def test_issue_has_distributions_shape_and_verifies() -> None:
    key = _key()
    token = _token(key)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "typ": "JWT", "kid": key.kid}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == AUD and isinstance(claims["aud"], str)  # 2.8 reads one string
    assert claims["access"] == [{"type": "repository", "name": "team/app", "actions": ["pull"]}]
    assert {"iss", "sub", "exp", "nbf", "iat", "jti"} <= set(claims)
    verified = verify_token(token, TrustedKeys.of_signing_key(key), issuer=ISS, audience=AUD)
    assert verified.subject == "alice"
    assert verified.access.allows("repository", "team/app", "pull")
    assert not verified.access.allows("repository", "team/app", "push")


def test_x5c_chain_to_a_trusted_root_verifies_and_an_untrusted_one_does_not() -> None:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _cert(root_key)
    leaf_private = ec.generate_private_key(ec.SECP256R1())
    leaf = _cert(leaf_private, (root_key, root.subject), ca=False)
    signing = SigningKey.of(leaf_private, leaf)
    token = _token(signing, x5c=True)
    assert "x5c" in jwt.get_unverified_header(token)
    trusted = TrustedKeys({}, (root,))
    assert verify_token(token, trusted, issuer=ISS, audience=AUD).subject == "alice"
    other = _cert(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(InvalidToken, match="trusted"):
        verify_token(token, TrustedKeys({}, (other,)), issuer=ISS, audience=AUD)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"lifetime": -200}, "expired"),  # exp 200 s ago: past the 60 s leeway
        ({"ahead": 200}, "not valid yet"),  # nbf 200 s ahead of when the test runs
        ({"audience": "another-service"}, "another service"),
        ({"issuer": "someone-else"}, "untrusted issuer"),
    ],
)
def test_claims_outside_what_is_accepted_are_refused(change: dict[str, object], why: str) -> None:
    key = _key()
    if "ahead" in change:  # "now" taken when the test runs, not when it was collected
        change = {"now": time.time() + float(change.pop("ahead"))}  # type: ignore[arg-type]
    with pytest.raises(InvalidToken, match=why):
        _verify(_token(key, **change), key)


def test_leeway_is_sixty_seconds() -> None:
    key = _key()
    token = _token(key, lifetime=300, now=1_000_000)
    trusted = TrustedKeys.of_signing_key(key)
    verify_token(token, trusted, issuer=ISS, audience=AUD, now=1_000_000 + 300 + 59)
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(token, trusted, issuer=ISS, audience=AUD, now=1_000_000 + 300 + 61)
    with pytest.raises(ValueError):
        verify_token(token, trusted, issuer=ISS, audience=AUD, leeway=3600)


def test_forged_signature_is_refused() -> None:
    key = _key()
    header, claims, signature = _token(key).split(".")
    payload = json.loads(base64.urlsafe_b64decode(claims + "=="))
    payload["access"][0]["actions"] = ["pull", "push", "delete"]
    forged = f"{header}.{_b64(json.dumps(payload).encode())}.{signature}"
    with pytest.raises(InvalidToken):
        _verify(forged, key)


def test_a_token_signed_by_another_key_is_refused() -> None:
    mine, theirs = _key(), _key()
    with pytest.raises(InvalidToken, match="untrusted key"):
        _verify(_token(theirs), mine)
    # the attacker's token claiming our kid: the signature does not verify
    impostor = jwt.encode(
        {"iss": ISS, "aud": AUD, "sub": "x", "exp": int(time.time()) + 60, "access": []},
        theirs.private,
        algorithm="ES256",
        headers={"kid": mine.kid},
    )
    with pytest.raises(InvalidToken):
        _verify(impostor, mine)


def test_alg_none_is_refused() -> None:
    key = _key()
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": key.kid}).encode())
    claims = {"iss": ISS, "aud": AUD, "sub": "x", "exp": int(time.time()) + 60}
    token = f"{header}.{_b64(json.dumps(claims).encode())}."
    with pytest.raises(InvalidToken, match="not allowed"):
        _verify(token, key)


@pytest.mark.parametrize("curve_key", ["ec", "rsa"])
def test_hs256_keyed_with_the_public_key_is_refused(curve_key: str) -> None:
    private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if curve_key == "ec":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = SigningKey.of(private, _cert(private))
    pem = key.public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    claims = {"iss": ISS, "aud": AUD, "sub": "x", "exp": int(time.time()) + 60, "access": []}
    body = _b64(json.dumps(claims).encode())
    import hmac

    mac = hmac.new(pem, f"{header}.{body}".encode(), "sha256").digest()
    with pytest.raises(InvalidToken, match="not allowed"):
        _verify(f"{header}.{body}.{_b64(mac)}", key)


def test_rsa_keys_sign_rs256_and_verify() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = SigningKey.of(private, _cert(private))
    token = _token(key)
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert _verify(token, key)


def test_oversized_and_malformed_tokens_are_refused() -> None:
    key = _key()
    with pytest.raises(InvalidToken, match="longer"):
        _verify("a" * (MAX_TOKEN_BYTES + 1), key)
    with pytest.raises(InvalidToken, match="malformed"):
        _verify("not.a.token!", key)
    big = [Scope("repository", f"r{i}", ("pull",)) for i in range(2000)]
    with pytest.raises(InvalidToken):
        _verify(_token(key, access=big), key)


def test_signing_key_is_created_once_0600_and_reused(tmp_path: Path) -> None:
    first = load_or_create_signing_key(tmp_path / "token")
    again = load_or_create_signing_key(tmp_path / "token")
    assert first.kid == again.kid and first.algorithm == "ES256"
    for name in ("signing-key.pem", "signing-cert.pem"):
        assert stat.S_IMODE((tmp_path / "token" / name).stat().st_mode) == 0o600
    trusted = load_trusted_certificates(tmp_path / "token" / "signing-cert.pem")
    assert set(trusted.by_kid) == {first.kid}


def test_jwks_export_and_load(tmp_path: Path) -> None:
    key = _key()
    (tmp_path / "jwks.json").write_bytes(key.jwks())
    trusted = load_jwks(tmp_path / "jwks.json")
    assert key.kid in trusted.by_kid
    assert verify_token(_token(key), trusted, issuer=ISS, audience=AUD).subject == "alice"
    (tmp_path / "bad.json").write_text('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}')
    with pytest.raises(InvalidArgument, match="oct"):
        load_jwks(tmp_path / "bad.json")
