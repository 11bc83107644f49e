"""PEM blocks as Go's ``encoding/pem`` reads them, and the small DER checks cosign relies on."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from dockyard.errors import InvalidArgument

__all__ = ["PemBlock", "decode_pem", "encode_pem", "is_pkcs8"]

_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class PemBlock:
    type: str
    data: bytes


def decode_pem(text: bytes, what: str = "key") -> PemBlock:
    """The first PEM block in ``text``; a clear error when there is none."""
    match = _BLOCK.search(text)
    if match is None:
        raise InvalidArgument(f"invalid pem block: the {what} is not PEM-encoded")
    body = b"".join(line.strip() for line in match.group(2).splitlines())
    if b":" in match.group(2).split(b"\n", 1)[0]:
        raise InvalidArgument(
            f"invalid pem block: encrypted PEM headers are not supported ({what})"
        )
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument(f"invalid pem block: the {what}'s body is not base64") from None
    return PemBlock(match.group(1).decode("ascii"), data)


def encode_pem(block_type: str, data: bytes) -> bytes:
    """Go's ``pem.EncodeToMemory``: 64-character lines, trailing newline."""
    b64 = base64.b64encode(data).decode("ascii")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return (
        f"-----BEGIN {block_type}-----\n"
        + "".join(f"{line}\n" for line in lines)
        + f"-----END {block_type}-----\n"
    ).encode("ascii")


def _header(der: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at ``pos``."""
    if pos + 2 > len(der):
        raise ValueError("truncated")
    tag, first = der[pos], der[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(der):
            raise ValueError("bad length")
        length = int.from_bytes(der[pos : pos + count], "big")
        pos += count
    if pos + length > len(der):
        raise ValueError("truncated")
    return tag, pos, pos + length


def is_pkcs8(der: bytes) -> bool:
    """Whether ``der`` is a PKCS#8 PrivateKeyInfo: SEQUENCE { INTEGER, SEQUENCE, OCTET STRING … }.

    SEC1 (``EC PRIVATE KEY``) and PKCS#1 (``RSA PRIVATE KEY``) have an OCTET STRING or an
    INTEGER after the version instead of the AlgorithmIdentifier SEQUENCE.
    """
    try:
        tag, start, end = _header(der, 0)
        if tag != 0x30 or end != len(der):
            return False
        tag, _, after_version = _header(der, start)
        if tag != 0x02:
            return False
        tag, _, after_alg = _header(der, after_version)
        if tag != 0x30:
            return False
        tag, _, _ = _header(der, after_alg)
        return tag == 0x04
    except ValueError:
        return False
