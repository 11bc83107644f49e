"""Ed25519ph (RFC 8032 section 5.1, pre-hashed with SHA-512, empty context) via libsodium.

cosign signs with Ed25519ph when its key is ed25519 (sigstore's ``ED25519phSigner``: Go's
``ed25519.PrivateKey.Sign`` over the SHA-512 digest with ``Options{Hash: crypto.SHA512}``,
no context). ``cryptography`` has pure Ed25519 only; libsodium's ``crypto_sign_ed25519ph_*``
is the same scheme with the same empty context, so its signatures are byte-identical to Go's.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from nacl import bindings
from nacl.exceptions import BadSignatureError
from nacl.exceptions import TypeError as NaclTypeError

__all__ = ["sign_ed25519ph", "verify_ed25519ph"]

_RAW = serialization.Encoding.Raw


def _state(data: bytes) -> bindings.crypto_sign_ed25519ph_state:
    state = bindings.crypto_sign_ed25519ph_state()
    bindings.crypto_sign_ed25519ph_update(state, data)
    return state


def sign_ed25519ph(key: ed25519.Ed25519PrivateKey, data: bytes) -> bytes:
    """The 64-byte Ed25519ph signature of ``data`` (deterministic, as RFC 8032 defines)."""
    seed = key.private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    _, secret = bindings.crypto_sign_seed_keypair(seed)
    return bindings.crypto_sign_ed25519ph_final_create(_state(data), secret)


def verify_ed25519ph(key: ed25519.Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` is an Ed25519ph signature over ``data`` by ``key``."""
    if len(signature) != bindings.crypto_sign_BYTES:
        return False
    public = key.public_bytes(_RAW, serialization.PublicFormat.Raw)
    try:
        return bool(bindings.crypto_sign_ed25519ph_final_verify(_state(data), signature, public))
    except (BadSignatureError, NaclTypeError):
        return False
