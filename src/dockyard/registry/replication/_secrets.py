"""Endpoint credentials at rest: each ``access_secret`` is stored sealed with AES-256-GCM
under a key of the registry's configuration (Harbor seals them with its ``secretkey`` file).

The key is ``replication.secretkey`` (at least 16 characters), else the file
``replication.secretkeyfile`` names, else ``replication.key`` in the registry's root
directory, made (random, mode 0600) the first time it is needed. A stored secret reads
``aesgcm:v1:`` and the URL-safe base64 of a 12-byte nonce and the ciphertext; a secret
stored in clear by an older dockyard is sealed when the registry starts
(:meth:`~dockyard.registry.replication.RegistryStore.seal_stored`). A key that cannot open
what is stored stops the start with an error saying which key to set: nothing is ever
answered, or sent to an endpoint, that was not opened with the right key."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dockyard.errors import FailedPrecondition, InvalidArgument

__all__ = ["KEY_FILE", "PREFIX", "SecretBox", "WrongSecretKey", "is_sealed", "load_box"]

PREFIX = "aesgcm:v1:"
#: The key file made in the registry's root directory when no key is configured.
KEY_FILE = "replication.key"
#: Bound to every sealed secret (a ciphertext of another purpose does not open here).
_AAD = b"dockyard replication credential"
MIN_KEY = 16


class WrongSecretKey(FailedPrecondition):
    """A stored credential does not open with the configured key."""


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


@dataclass(frozen=True, slots=True)
class SecretBox:
    """Seals and opens credentials with one key; ``source`` says where the key came from
    (for the error that a wrong key raises). ``key`` None: no key is configured (sealing
    or opening a secret says what to set)."""

    key: bytes | None
    source: str = "replication.secretkey"

    def _aead(self) -> AESGCM:
        if self.key is None:
            raise FailedPrecondition(
                "endpoint credentials are stored encrypted, and this registry has no key for them",
                hint="set replication.secretkey (REGISTRY_REPLICATION_SECRETKEY) or "
                "replication.secretkeyfile",
            )
        return AESGCM(hashlib.sha256(self.key).digest())

    def seal(self, secret: str) -> str:
        """The stored form of ``secret`` ("" stays "": no secret)."""
        if not secret:
            return ""
        nonce = secrets.token_bytes(12)
        sealed = self._aead().encrypt(nonce, secret.encode(), _AAD)
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, stored: str) -> str:
        """The secret of a stored value (one in clear, from before sealing, as it is)."""
        if not is_sealed(stored):
            return stored
        try:
            raw = base64.urlsafe_b64decode(stored[len(PREFIX) :])
            return self._aead().decrypt(raw[:12], raw[12:], _AAD).decode()
        except (InvalidTag, ValueError):
            raise WrongSecretKey(
                f"the stored endpoint credentials do not open with the key of {self.source}",
                hint="set replication.secretkey (or replication.secretkeyfile) to the key "
                "they were stored with",
            ) from None


def _key_text(text: str, where: str) -> bytes:
    key = text.strip()
    if len(key) < MIN_KEY:
        raise InvalidArgument(
            f"{where} must be at least {MIN_KEY} characters",
            hint="e.g. the output of `openssl rand -base64 32`",
        )
    return key.encode()


def load_box(
    secret_key: str = "", key_file: Path | None = None, *, make: bool = False
) -> SecretBox:
    """The box of the configured key: ``secret_key``, else ``key_file`` (made with a random
    key when ``make`` and it does not exist yet); no key when neither is given."""
    if secret_key:
        return SecretBox(_key_text(secret_key, "replication.secretkey"))
    if key_file is None:
        return SecretBox(None)
    where = f"the key file {key_file}"
    if not key_file.exists():
        if not make:
            raise FailedPrecondition(
                f"replication.secretkeyfile {key_file} does not exist",
                hint="create it with the key the credentials were stored with (at least "
                f"{MIN_KEY} characters), or point the setting at it",
            )
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fresh = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode() + "\n"
        draft = key_file.with_name(f".{key_file.name}.{secrets.token_hex(6)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(fresh)
                out.flush()
                os.fsync(out.fileno())
            os.link(draft, key_file)  # whole or not at all; fails if another made it first
        except FileExistsError:
            pass  # another process made it first: theirs is the key
        finally:
            draft.unlink(missing_ok=True)
    return SecretBox(_key_text(key_file.read_text(), where), where)
