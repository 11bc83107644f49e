"""Validation of what clients put in URLs: repository names, tags, digests, references."""

from __future__ import annotations

import re

from dockyard.digest import Digest
from dockyard.errors import DigestInvalid, ManifestInvalid, NameInvalid, Unsupported

__all__ = ["MAX_NAME", "check_name", "is_digest", "parse_digest", "parse_reference"]

#: distribution's limit on a repository name
MAX_NAME = 255

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")


def check_name(name: str) -> str:
    """``name`` when it is a valid repository name; NameInvalid saying why otherwise."""
    if len(name) > MAX_NAME:
        raise NameInvalid(
            f"invalid repository name: {len(name)} characters, at most {MAX_NAME} are allowed"
        )
    if not _NAME.fullmatch(name):
        raise NameInvalid(
            f"invalid repository name {name!r}: use lowercase letters, digits and separators "
            "(., _, __, -) in components joined by '/', e.g. 'team/app'"
        )
    return name


def parse_digest(text: str) -> Digest:
    """A digest from a URL or query; unsupported algorithms are DIGEST_INVALID too."""
    try:
        return Digest.parse(text)
    except Unsupported as exc:
        raise DigestInvalid(exc.message, hint="use sha256:<hex> or sha512:<hex>") from None


def is_digest(reference: str) -> bool:
    return ":" in reference


def parse_reference(reference: str) -> str:
    """A manifest reference (tag or digest), checked; digests come back in canonical form."""
    if is_digest(reference):
        return str(parse_digest(reference))
    if not _TAG.fullmatch(reference):
        raise ManifestInvalid(
            f"invalid tag {reference!r}: tags are 1-128 characters of letters, digits, "
            "'_', '.' and '-', not starting with '.' or '-'"
        )
    return reference
