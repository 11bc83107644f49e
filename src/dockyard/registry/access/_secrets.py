"""Secrets: bcrypt for passwords people choose, SHA-256 for random secrets dockyard makes.

A CLI or robot secret is 32 random characters (upper, lower and digits, as Harbor's robot
secrets), so a fast hash is enough to store it; comparisons are constant-time. Passwords are
bcrypt (the registry's htpasswd helpers), and a check for a name that does not exist costs
the same as one that does.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

from dockyard.errors import InvalidArgument
from dockyard.registry.auth import MAX_PASSWORD_BYTES, check_password, hash_password

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "DummyHash",
    "check_password",
    "check_strong_password",
    "hash_password",
    "hash_secret",
    "new_secret",
    "secret_matches",
]

#: Harbor's rule for local passwords: 8-128 characters with upper, lower and a digit. bcrypt
#: reads 72 bytes, so dockyard refuses longer ones rather than ignore the rest.
MIN_PASSWORD_LENGTH = 8
_ALPHABET = string.ascii_letters + string.digits
SECRET_LENGTH = 32


def new_secret() -> str:
    """32 random characters with at least one upper-case letter, lower-case letter and digit."""
    while True:
        value = "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_LENGTH))
        if (
            any(c.islower() for c in value)
            and any(c.isupper() for c in value)
            and any(c.isdigit() for c in value)
        ):
            return value


def hash_secret(secret: str | bytes) -> str:
    data = secret.encode() if isinstance(secret, str) else secret
    return hashlib.sha256(data).hexdigest()


def secret_matches(secret: str | bytes, stored: str | None) -> bool:
    """Constant-time: whether ``secret`` hashes to ``stored`` (None never matches, same cost)."""
    expected = stored if stored is not None else "0" * 64
    ok = hmac.compare_digest(hash_secret(secret), expected)
    return ok and stored is not None


def check_strong_password(password: str) -> None:
    """Harbor's password rule; InvalidArgument saying what is missing."""
    size = len(password.encode())
    if len(password) < MIN_PASSWORD_LENGTH or size > MAX_PASSWORD_BYTES:
        raise InvalidArgument(
            f"the password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_BYTES} bytes long",
            hint="choose a longer (or shorter) password",
        )
    if not (
        any(c.islower() for c in password)
        and any(c.isupper() for c in password)
        and any(c.isdigit() for c in password)
    ):
        raise InvalidArgument(
            "the password needs at least one upper-case letter, one lower-case letter and one "
            "digit",
            hint="add the missing kind of character",
        )


class DummyHash:
    """A bcrypt hash of a random password at ``cost``: checked when the account does not
    exist, so that a wrong name takes as long as a wrong password."""

    def __init__(self, cost: int) -> None:
        self.value = hash_password(new_secret(), cost)

    def burn(self, password: str | bytes) -> None:
        check_password(password, self.value)
