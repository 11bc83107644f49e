"""Content digests (``algorithm:hex``) as the OCI image spec defines them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Protocol

from dockyard.errors import DigestInvalid, Unsupported

__all__ = ["SHA256", "SHA512", "Digest", "Digester", "digest_of"]

SHA256 = "sha256"
SHA512 = "sha512"

_HEX_LEN = {SHA256: 64, SHA512: 128}
# digest ::= algorithm ":" encoded ; algorithm ::= component (separator component)*
# fullmatch, never "$": "$" also matches before a trailing newline
_GRAMMAR = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_LOWER_HEX = re.compile(r"[a-f0-9]+")


class _Hasher(Protocol):
    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...
    def hexdigest(self) -> str: ...


@dataclass(frozen=True, slots=True, order=True)
class Digest:
    """A verified-syntax digest. ``str(d)`` is ``"sha256:<hex>"``."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        if not isinstance(text, str) or not _GRAMMAR.fullmatch(text):
            raise DigestInvalid(
                f"invalid digest {text!r}: expected algorithm:hex, e.g. sha256:<64 hex>"
            )
        alg, _, enc = text.partition(":")
        if alg not in _HEX_LEN:
            raise Unsupported(f"unsupported digest algorithm {alg!r} in {text!r} (sha256, sha512)")
        if len(enc) != _HEX_LEN[alg] or not _LOWER_HEX.fullmatch(enc):
            raise DigestInvalid(
                f"invalid digest {text!r}: {alg} needs {_HEX_LEN[alg]} lowercase hex characters"
            )
        return cls(alg, enc)

    @classmethod
    def is_valid(cls, text: str) -> bool:
        try:
            cls.parse(text)
        except (DigestInvalid, Unsupported):
            return False
        return True

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @property
    def short(self) -> str:
        """Docker's 12-character short ID."""
        return self.hex[:12]

    def hasher(self) -> Digester:
        return Digester(self.algorithm)

    def verify(self, data: bytes) -> None:
        actual = digest_of(data, self.algorithm)
        if actual != self:
            raise DigestInvalid(f"content digest mismatch: expected {self}, got {actual}")


class Digester:
    """Hash bytes as they stream past; ``digest()`` gives the result."""

    __slots__ = ("_h", "algorithm", "size")

    def __init__(self, algorithm: str = SHA256) -> None:
        if algorithm not in _HEX_LEN:
            raise Unsupported(f"unsupported digest algorithm {algorithm!r}")
        self.algorithm = algorithm
        self._h: _Hasher = hashlib.new(algorithm)
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._h.update(data)
        self.size += len(data)

    def digest(self) -> Digest:
        return Digest(self.algorithm, self._h.hexdigest())


def digest_of(data: bytes, algorithm: str = SHA256) -> Digest:
    d = Digester(algorithm)
    d.update(data)
    return d.digest()
