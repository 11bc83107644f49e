"""The full names the store's ``tags`` table keys tags by, from what a user types.

:class:`dockyard.reference.Reference` normalises a name as Docker does (``bench:1`` →
``docker.io/library/bench:1``, ``:latest`` when no tag is given) and checks its grammar with
regular expressions; compiling them is a noticeable part of a ``dockyard run`` whose image is a
snapshot, which looks a tag up and nothing else. :func:`tag_name` does the same normalisation
with string operations only and checks nothing: the table holds valid names only, so a name
that is not a valid reference finds no tag, and the caller then takes the way over
:class:`~dockyard.reference.Reference`, which says what is wrong.
tests/local/test_local_tag_names.py holds the two to the same answers.
"""

from __future__ import annotations

__all__ = ["tag_name"]

_DEFAULT_DOMAIN = "docker.io"
_LEGACY_DEFAULT_DOMAIN = "index.docker.io"
_OFFICIAL_PREFIX = "library/"
_HEX = frozenset("0123456789abcdef")


def tag_name(text: str) -> str | None:
    """``str(Reference.parse_with_default_tag(text))`` for a tag reference, by string
    operations (see the module's documentation); None for a digest reference and for a
    64-digit hexadecimal string (an image ID to Docker, never a name)."""
    if not text or "@" in text or (len(text) == 64 and _HEX.issuperset(text)):
        return None
    domain, remote = _split_domain(text)
    full = f"{domain}/{remote}"
    if ":" not in full[full.rfind("/") :]:
        full += ":latest"
    return full


def _split_domain(name: str) -> tuple[str, str]:
    """Docker's splitDockerDomain, as :mod:`dockyard.reference` has it."""
    maybe_domain, slash, rest = name.partition("/")
    if not slash:
        return _DEFAULT_DOMAIN, _OFFICIAL_PREFIX + name
    if maybe_domain == "localhost":
        domain, remote = maybe_domain, rest
    elif maybe_domain == _LEGACY_DEFAULT_DOMAIN:
        domain, remote = _DEFAULT_DOMAIN, rest
    elif any(c in maybe_domain for c in ".:") or maybe_domain.lower() != maybe_domain:
        domain, remote = maybe_domain, rest
    else:
        domain, remote = _DEFAULT_DOMAIN, name
    if domain == _DEFAULT_DOMAIN and "/" not in remote:
        remote = _OFFICIAL_PREFIX + remote
    return domain, remote
