"""Token signing keys: load or create one (with a self-signed certificate), name it, trust others.

A registry that issues its own tokens keeps its key and certificate as PEM files (0600) under
its root directory; the certificate is what a registry:2 configured with ``auth.token`` takes
as ``rootcertbundle``. Keys are named by libtrust's key ID (the ``kid`` distribution 2.8 looks
up): base32 of the first 240 bits of SHA-256 of the DER SubjectPublicKeyInfo, in 12 groups of
4 characters joined by ``:``.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from dockyard.atomicfile import write_atomic
from dockyard.errors import FailedPrecondition, InvalidArgument, NotFound

__all__ = [
    "CERT_FILE",
    "KEY_FILE",
    "PrivateKey",
    "PublicKey",
    "SigningKey",
    "TrustedKeys",
    "key_id",
    "load_jwks",
    "load_or_create_signing_key",
    "load_signing_key",
    "load_trusted_certificates",
]

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

KEY_FILE = "signing-key.pem"
CERT_FILE = "signing-cert.pem"
#: How long a created certificate is valid (distribution checks it only for ``x5c`` chains).
CERT_DAYS = 5 * 365
#: The largest key, certificate bundle or JWKS file read (they are small).
MAX_KEY_FILE_BYTES = 1 << 20
#: The most keys one bundle or JWKS may hold.
MAX_TRUSTED_KEYS = 256

_EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


def key_id(public: PublicKey) -> str:
    """libtrust's key ID: ``ABCD:EFGH:…`` (12 groups of 4 base32 characters)."""
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    text = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii")
    return ":".join(text[i : i + 4] for i in range(0, 48, 4))


def algorithm_for(key: PrivateKey | PublicKey) -> str:
    """The JWS algorithm a key signs with: ES256/384/512 by curve, RS256 for RSA."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        alg = _EC_ALGORITHMS.get(key.curve.name)
        if alg is None:
            raise InvalidArgument(
                f"EC curve {key.curve.name} is not usable for tokens",
                hint="use a P-256, P-384 or P-521 key",
            )
        return alg
    if key.key_size < 2048:
        raise InvalidArgument(
            f"an RSA key of {key.key_size} bits is too weak for tokens; use ≥ 2048"
        )
    return "RS256"


def allowed_algorithms(key: PublicKey) -> tuple[str, ...]:
    """The algorithms a token verified with ``key`` may name: one per EC curve, RS*/PS* for
    RSA; never ``none`` and never an HMAC (which would use the public key as a secret)."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return (algorithm_for(key),)
    return ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key, its certificate, its ``kid`` and the algorithm it signs with."""

    private: PrivateKey
    certificate: x509.Certificate
    kid: str
    algorithm: str

    @classmethod
    def of(cls, private: PrivateKey, certificate: x509.Certificate) -> SigningKey:
        public = private.public_key()
        if certificate.public_key() != public:
            raise InvalidArgument("the token signing certificate is not for the signing key")
        return cls(private, certificate, key_id(public), algorithm_for(private))

    @property
    def public(self) -> PublicKey:
        return self.private.public_key()

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def certificate_der_b64(self) -> str:
        """The certificate as an ``x5c`` entry (standard base64 of DER)."""
        return base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode()

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWK (``kid``, ``alg``, ``use: sig``), for a JWKS document."""
        public = self.public
        if isinstance(public, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def jwks(self) -> bytes:
        return json.dumps({"keys": [self.jwk()]}, sort_keys=True).encode()


@dataclass(frozen=True, slots=True)
class TrustedKeys:
    """Keys a verifier trusts: by ``kid`` (libtrust IDs of the bundle's certificates and the
    JWKS's own ``kid`` values) and the bundle's certificates as roots for ``x5c`` chains."""

    by_kid: dict[str, PublicKey]
    roots: tuple[x509.Certificate, ...] = ()

    @classmethod
    def of_signing_key(cls, key: SigningKey) -> TrustedKeys:
        return cls({key.kid: key.public}, (key.certificate,))

    def merged(self, other: TrustedKeys) -> TrustedKeys:
        return TrustedKeys({**self.by_kid, **other.by_kid}, self.roots + other.roots)


def _self_signed(private: PrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or "dockyard")])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )


def _read(path: Path, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise NotFound(
            f"{what} {path} does not exist", hint="check the path in the config"
        ) from None
    except OSError as exc:
        raise FailedPrecondition(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_KEY_FILE_BYTES:
        raise InvalidArgument(f"{what} {path} is larger than {MAX_KEY_FILE_BYTES} bytes")
    return data


def load_signing_key(key_path: Path, cert_path: Path) -> SigningKey:
    """An existing PEM private key (EC P-256/384/521 or RSA ≥ 2048, unencrypted) and its
    certificate."""
    try:
        private = serialization.load_pem_private_key(_read(key_path, "token signing key"), None)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(
            f"token signing key {key_path} is not an unencrypted PEM private key: {exc}"
        ) from exc
    if not isinstance(private, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise InvalidArgument(f"token signing key {key_path} must be an EC or RSA key")
    try:
        certificate = x509.load_pem_x509_certificate(_read(cert_path, "token certificate"))
    except ValueError as exc:
        raise InvalidArgument(f"token certificate {cert_path} is not a PEM certificate") from exc
    return SigningKey.of(private, certificate)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def load_or_create_signing_key(
    directory: Path, *, common_name: str = "dockyard token issuer"
) -> SigningKey:
    """The key in ``directory`` (``signing-key.pem`` + ``signing-cert.pem``), created there
    (an ECDSA P-256 key, files 0600, written atomically, under a lock so that several server
    processes agree on one key) when there is none."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise FailedPrecondition(
            f"cannot create the token key directory {directory}: {exc.strerror or exc}"
        ) from exc
    key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
    with _locked(directory):
        if key_path.exists() and cert_path.exists():
            return load_signing_key(key_path, cert_path)
        private = ec.generate_private_key(ec.SECP256R1())
        certificate = _self_signed(private, common_name)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_atomic(key_path, pem, mode=0o600)
        write_atomic(cert_path, certificate.public_bytes(serialization.Encoding.PEM), mode=0o600)
    return SigningKey.of(private, certificate)


def load_trusted_certificates(bundle: Path) -> TrustedKeys:
    """registry:2's ``rootcertbundle``: every certificate in the PEM file, trusted by its key's
    libtrust ID and as a root for ``x5c`` chains."""
    try:
        certificates = x509.load_pem_x509_certificates(
            _read(bundle, "token root certificate bundle")
        )
    except ValueError as exc:
        raise InvalidArgument(
            f"token root certificate bundle {bundle} holds no valid PEM certificate: {exc}",
            hint="point auth.token.rootcertbundle at the token issuer's certificate(s)",
        ) from exc
    if len(certificates) > MAX_TRUSTED_KEYS:
        raise InvalidArgument(f"{bundle} holds more than {MAX_TRUSTED_KEYS} certificates")
    by_kid: dict[str, PublicKey] = {}
    for certificate in certificates:
        public = certificate.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise InvalidArgument(f"{bundle}: only EC and RSA certificates can sign tokens")
        by_kid[key_id(public)] = public
    return TrustedKeys(by_kid, tuple(certificates))


def load_jwks(path: Path) -> TrustedKeys:
    """A JWKS file (``{"keys": [...]}``, EC and RSA public keys): trusted by their ``kid`` and by
    their libtrust IDs."""
    try:
        doc = json.loads(_read(path, "JWKS file"))
        keys = doc["keys"]
        if not isinstance(keys, list):
            raise TypeError("keys is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidArgument(f"JWKS file {path} is not a JSON Web Key Set: {exc}") from exc
    if len(keys) > MAX_TRUSTED_KEYS:
        raise InvalidArgument(f"JWKS file {path} holds more than {MAX_TRUSTED_KEYS} keys")
    by_kid: dict[str, PublicKey] = {}
    for entry in keys:
        if not isinstance(entry, dict):
            raise InvalidArgument(f"JWKS file {path}: every key must be a JSON object")
        kty = entry.get("kty")
        public: Any
        try:
            if kty == "EC":
                public = ECAlgorithm.from_jwk(entry)
            elif kty == "RSA":
                public = RSAAlgorithm.from_jwk(entry)
            else:
                raise InvalidArgument(
                    f"JWKS file {path}: key type {kty!r} cannot verify tokens (use EC or RSA)"
                )
        except InvalidArgument:
            raise
        except Exception as exc:  # PyJWT raises its own InvalidKeyError and ValueErrors
            raise InvalidArgument(f"JWKS file {path}: a key cannot be read: {exc}") from exc
        if not isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise InvalidArgument(f"JWKS file {path}: only public keys belong in a JWKS")
        by_kid[key_id(public)] = public
        if isinstance(entry.get("kid"), str):
            by_kid[entry["kid"]] = public
    return TrustedKeys(by_kid)
