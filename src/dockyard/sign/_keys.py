"""Signing keys as cosign keeps them: encrypted PKCS#8 private keys and SPKI public keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from dockyard.atomicfile import write_atomic
from dockyard.errors import AlreadyExists, InvalidArgument, Unsupported
from dockyard.sign._ed25519ph import sign_ed25519ph, verify_ed25519ph
from dockyard.sign._encrypted import decrypt, encrypt
from dockyard.sign._pem import decode_pem, encode_pem, is_pkcs8

__all__ = [
    "COSIGN_PEM_TYPE",
    "SIGSTORE_PEM_TYPE",
    "KeyPair",
    "PrivateKey",
    "PublicKey",
    "generate_key_pair",
    "import_key_pair",
    "load_private_key",
    "load_public_key",
    "write_key_pair",
]

COSIGN_PEM_TYPE = "ENCRYPTED COSIGN PRIVATE KEY"
SIGSTORE_PEM_TYPE = "ENCRYPTED SIGSTORE PRIVATE KEY"
_IMPORT_TYPES = ("RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY")

_Private = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
_Public = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
_CURVE_HASH: dict[str, hashes.HashAlgorithm] = {
    "secp256r1": hashes.SHA256(),
    "secp384r1": hashes.SHA384(),
    "secp521r1": hashes.SHA512(),
}


def _check_public(key: object) -> None:
    """sigstore's goodkey rules: EC on P-256/384/521, RSA 2048 to 4096 bits, or ed25519."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in _CURVE_HASH:
            raise Unsupported(f"unsupported elliptic curve {key.curve.name} (P-256/384/521 only)")
    elif isinstance(key, rsa.RSAPublicKey):
        if not 2048 <= key.key_size <= 4096:
            raise Unsupported(f"RSA key of {key.key_size} bits: must be 2048 to 4096 bits")
    elif not isinstance(key, ed25519.Ed25519PublicKey):
        raise Unsupported(f"unsupported key type {type(key).__name__} (ECDSA, RSA or ed25519)")


@dataclass(frozen=True)
class PublicKey:
    """A verification key; ``pem`` is the SPKI ``PUBLIC KEY`` PEM."""

    key: _Public

    @property
    def pem(self) -> bytes:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether ``signature`` is this key's signature over ``data`` (cosign's hash choices:
        ECDSA with SHA-256 as ``cosign verify`` uses it, or the curve's own hash; RSA PKCS#1
        v1.5 with SHA-256; ed25519 as Ed25519ph, which cosign signs with since v2.6.0, or as
        pure Ed25519, which older cosign signed with and ``cosign verify --key`` checks)."""
        try:
            if isinstance(self.key, ec.EllipticCurvePublicKey):
                for algorithm in (hashes.SHA256(), _CURVE_HASH[self.key.curve.name]):
                    try:
                        self.key.verify(signature, data, ec.ECDSA(algorithm))
                        return True
                    except InvalidSignature:
                        continue
                return False
            if isinstance(self.key, rsa.RSAPublicKey):
                self.key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            elif verify_ed25519ph(self.key, signature, data):
                return True
            else:
                self.key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class PrivateKey:
    """A signing key."""

    key: _Private

    def public_key(self) -> PublicKey:
        return PublicKey(self.key.public_key())

    def pkcs8(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def sign(self, data: bytes) -> bytes:
        """ECDSA (ASN.1 DER) with the curve's hash, RSA PKCS#1 v1.5 with SHA-256, or for
        ed25519 keys Ed25519ph (SHA-512 pre-hash), as cosign's key loader sets it up."""
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            return self.key.sign(data, ec.ECDSA(_CURVE_HASH[self.key.curve.name]))
        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return sign_ed25519ph(self.key, data)


@dataclass(frozen=True)
class KeyPair:
    """What ``generate-key-pair``/``import-key-pair`` write: encrypted private and public PEM."""

    private_pem: bytes
    public_pem: bytes
    key: PrivateKey


def _marshal(key: PrivateKey, password: bytes, pem_type: str = SIGSTORE_PEM_TYPE) -> KeyPair:
    envelope = encrypt(key.pkcs8(), password)
    return KeyPair(encode_pem(pem_type, envelope), key.public_key().pem, key)


def generate_key_pair(password: bytes) -> KeyPair:
    """A new ECDSA P-256 key, encrypted as current cosign writes it."""
    return _marshal(PrivateKey(ec.generate_private_key(ec.SECP256R1())), password)


def _load_der(der: bytes, what: str) -> _Private:
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise InvalidArgument(f"parsing {what}: {e}") from None
    if not isinstance(
        key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    ):
        raise Unsupported(f"unexpected private key type {type(key).__name__} in {what}")
    _check_public(key.public_key())
    return key


def import_key_pair(pem: bytes, password: bytes) -> KeyPair:
    """``cosign import-key-pair``: PKCS#1 RSA, SEC1 EC or PKCS#8 (RSA/EC/ed25519) PEM in."""
    block = decode_pem(pem, "key to import")
    if block.type not in _IMPORT_TYPES:
        raise Unsupported(
            f"unsupported private key: PEM type {block.type!r}",
            hint="import-key-pair takes PRIVATE KEY (PKCS#8), RSA PRIVATE KEY or EC PRIVATE KEY",
        )
    if block.type == "PRIVATE KEY" and not is_pkcs8(block.data):
        raise InvalidArgument("error parsing pkcs #8 private key: not PKCS#8 DER")
    key = _load_der(block.data, "the private key to import")
    expected = {"RSA PRIVATE KEY": rsa.RSAPrivateKey, "EC PRIVATE KEY": ec.EllipticCurvePrivateKey}
    if block.type in expected and not isinstance(key, expected[block.type]):
        raise InvalidArgument(f"the {block.type} block holds a {type(key).__name__}")
    return _marshal(PrivateKey(key), password)


def load_private_key(pem: bytes, password: bytes) -> PrivateKey:
    """A cosign private key (``ENCRYPTED COSIGN``/``SIGSTORE PRIVATE KEY``), PKCS#8 inside."""
    block = decode_pem(pem, "private key")
    if block.type not in (COSIGN_PEM_TYPE, SIGSTORE_PEM_TYPE):
        raise Unsupported(
            f"unsupported pem type: {block.type}",
            hint="dockyard reads cosign keys; bring other keys in with import-key-pair",
        )
    der = decrypt(block.data, password)
    if not is_pkcs8(der):
        raise InvalidArgument(
            "parsing private key: the decrypted key is not PKCS#8 (SEC1/PKCS#1 keys are "
            "refused, as cosign refuses them)",
            hint="re-import the key with import-key-pair",
        )
    return PrivateKey(_load_der(der, "the decrypted private key"))


def load_public_key(pem: bytes) -> PublicKey:
    """A ``PUBLIC KEY`` (SPKI) PEM, or the public half of a certificate-less cosign key."""
    block = decode_pem(pem, "public key")
    if block.type != "PUBLIC KEY":
        raise InvalidArgument(
            f"the public key PEM has type {block.type!r}, expected 'PUBLIC KEY'",
            hint="pass the .pub file written by generate-key-pair",
        )
    try:
        key = serialization.load_der_public_key(block.data)
    except (ValueError, UnsupportedAlgorithm) as e:
        raise InvalidArgument(f"parsing public key: {e}") from None
    _check_public(key)
    assert isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey)
    return PublicKey(key)


def _write_private(path: Path, data: bytes) -> None:
    """Mode 0600 from the first byte, fsynced, renamed into place."""
    write_atomic(path, data, mode=0o600)


def _write_public(path: Path, data: bytes) -> None:
    write_atomic(path, data, mode=0o644)


def write_key_pair(pair: KeyPair, prefix: Path, *, overwrite: bool = False) -> tuple[Path, Path]:
    """Write ``PREFIX.key`` (0600) and ``PREFIX.pub``; AlreadyExists unless ``overwrite``."""
    key_path = prefix.with_name(prefix.name + ".key")
    pub_path = prefix.with_name(prefix.name + ".pub")
    if not overwrite:
        for path in (key_path, pub_path):
            if path.exists():
                raise AlreadyExists(f"file {path} already exists", hint="remove it or overwrite")
    key_path.parent.mkdir(parents=True, exist_ok=True)
    _write_private(key_path, pair.private_pem)
    _write_public(pub_path, pair.public_pem)
    return key_path, pub_path
