"""Validation of what clients put in URLs: repository names, tags, digests, references."""

from __future__ import annotations

import re
from collections.abc import Iterable

from dockyard.digest import Digest
from dockyard.errors import (
    DigestInvalid,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    Unsupported,
)

__all__ = [
    "MAX_NAME",
    "check_name",
    "check_tag",
    "is_digest",
    "parse_digest",
    "parse_lookup_reference",
    "parse_reference",
    "parse_tags",
]

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


_TAG_RULE = (
    "tags are 1-128 characters of letters, digits, '_', '.' and '-', not starting with '.' or '-'"
)


def check_tag(tag: str) -> str:
    """``tag`` when it is a valid tag; MANIFEST_INVALID saying why otherwise (a push)."""
    if not _TAG.fullmatch(tag):
        raise ManifestInvalid(f"invalid tag {tag!r}: {_TAG_RULE}")
    return tag


def parse_reference(reference: str) -> str:
    """A manifest reference (tag or digest) a push names, checked; digests come back in
    canonical form. A malformed one is MANIFEST_INVALID (DIGEST_INVALID for a digest)."""
    if is_digest(reference):
        return str(parse_digest(reference))
    return check_tag(reference)


def parse_lookup_reference(reference: str) -> str:
    """A manifest reference a pull or a delete names. A tag no manifest can have is
    MANIFEST_UNKNOWN (404), as distribution and the OCI conformance suite answer: a reference
    that cannot exist is not there, whatever it looks like."""
    if is_digest(reference):
        return str(parse_digest(reference))
    if not _TAG.fullmatch(reference):
        raise ManifestUnknown(
            f"manifest {reference!r} is unknown: it is not a valid tag ({_TAG_RULE})"
        )
    return reference


def parse_tags(reference: str, tags: Iterable[str]) -> tuple[str, ...]:
    """The ``?tag=`` parameters of a manifest PUT, checked, each once, in order. Any invalid
    one fails them all (MANIFEST_INVALID); they need a PUT by digest, as the distribution
    spec has them (a PUT by tag names its one tag in the URL)."""
    out = tuple(dict.fromkeys(check_tag(tag) for tag in tags))
    if out and not is_digest(reference):
        raise ManifestInvalid(
            f"tag query parameters need a PUT by digest, not by tag {reference!r}",
            hint="PUT /v2/<name>/manifests/<digest>?tag=a&tag=b, or one PUT per tag",
        )
    return out
