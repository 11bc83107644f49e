"""The password envelope cosign puts around private keys: scrypt + NaCl secretbox, as JSON.

``{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":…},
"cipher":{"name":"nacl/secretbox","nonce":…},"ciphertext":…}`` (byte strings base64, std alphabet).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from typing import Any

import nacl.exceptions
import nacl.secret

from dockyard.errors import DecryptionFailed, InvalidArgument, Unsupported

__all__ = ["ACCEPTED_SCRYPT_PARAMS", "decrypt", "encrypt"]

SCRYPT_N, SCRYPT_R, SCRYPT_P = 32768, 8, 1
SALT_SIZE = 32
KEY_SIZE = 32
NONCE_SIZE = nacl.secret.SecretBox.NONCE_SIZE  # 24
#: The scrypt parameter sets cosign's envelope library accepts (legacy, standard, OWASP);
#: any other set is refused before any work is done, so a crafted file cannot eat the CPU.
ACCEPTED_SCRYPT_PARAMS = frozenset({(32768, 8, 1), (65536, 8, 1), (131072, 8, 1)})


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password, salt=salt, n=n, r=r, p=p, dklen=KEY_SIZE, maxmem=128 * r * n * p + 2**24
    )


def encrypt(plaintext: bytes, password: bytes) -> bytes:
    """The envelope as compact JSON, fields in cosign's order."""
    salt = secrets.token_bytes(SALT_SIZE)
    nonce = secrets.token_bytes(NONCE_SIZE)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    sealed = nacl.secret.SecretBox(key).encrypt(plaintext, nonce).ciphertext

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    envelope = {
        "kdf": {
            "name": "scrypt",
            "params": {"N": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
            "salt": b64(salt),
        },
        "cipher": {"name": "nacl/secretbox", "nonce": b64(nonce)},
        "ciphertext": b64(sealed),
    }
    return json.dumps(envelope, separators=(",", ":")).encode("ascii")


def _field(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            raise InvalidArgument(f"encrypted key: missing field {'.'.join(path)}")
        obj = obj[key]
    return obj


def _bytes(obj: Any, *path: str) -> bytes:
    value = _field(obj, *path)
    if not isinstance(value, str):
        raise InvalidArgument(f"encrypted key: {'.'.join(path)} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument(f"encrypted key: {'.'.join(path)} is not valid base64") from None


def _int(obj: Any, *path: str) -> int:
    value = _field(obj, *path)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"encrypted key: {'.'.join(path)} must be an integer")
    return value


def decrypt(envelope: bytes, password: bytes) -> bytes:
    """Open the envelope; :class:`DecryptionFailed` when the password is wrong."""
    try:
        obj = json.loads(envelope)
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument("encrypted key: the PEM body is not a JSON envelope") from None
    kdf = _field(obj, "kdf", "name")
    if kdf != "scrypt":
        raise Unsupported(f"encrypted key: unknown kdf name {kdf!r} (only scrypt is supported)")
    cipher = _field(obj, "cipher", "name")
    if cipher != "nacl/secretbox":
        raise Unsupported(f"encrypted key: unknown cipher name {cipher!r} (nacl/secretbox only)")
    params = (
        _int(obj, "kdf", "params", "N"),
        _int(obj, "kdf", "params", "r"),
        _int(obj, "kdf", "params", "p"),
    )
    if params not in ACCEPTED_SCRYPT_PARAMS:
        raise Unsupported(
            f"encrypted key: unsupported scrypt parameters N={params[0]} r={params[1]} p={params[2]}",
            hint="cosign accepts N=32768, 65536 or 131072 with r=8, p=1",
        )
    salt = _bytes(obj, "kdf", "salt")
    nonce = _bytes(obj, "cipher", "nonce")
    ciphertext = _bytes(obj, "ciphertext")
    if len(nonce) != NONCE_SIZE:
        raise InvalidArgument(f"encrypted key: nonce must be {NONCE_SIZE} bytes, got {len(nonce)}")
    key = _scrypt(password, salt, *params)
    try:
        return nacl.secret.SecretBox(key).decrypt(ciphertext, nonce)
    except nacl.exceptions.CryptoError:
        raise DecryptionFailed(
            "decrypting the private key failed: wrong password",
            hint="set COSIGN_PASSWORD to the password the key was created with",
        ) from None
