"""Image references (``docker.io/library/busybox:latest``) parsed the way Docker parses them.

The grammar and the normalisation follow Docker's ``distribution/reference`` package
(``ParseNormalizedNamed``, ``FamiliarString``, ``TagNameOnly``), including its error messages::

    reference       := name [ ":" tag ] [ "@" digest ]
    name            := [domain "/"] path
    domain          := host [":" port]        host: DNS-ish name, IPv4, or [IPv6]
    path            := component ("/" component)*
    component       := [a-z0-9]+ (separator [a-z0-9]+)*     separator: "." "_" "__" "-"+
    tag             := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockyard.digest import Digest
from dockyard.errors import DigestInvalid, ReferenceInvalid, Unsupported

__all__ = ["DEFAULT_DOMAIN", "DEFAULT_TAG", "NAME_MAX_LENGTH", "Reference"]

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
LOCALHOST = "localhost"
#: Docker limits the repository path (the name without its domain) to 255 characters.
NAME_MAX_LENGTH = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_PATH = rf"{_COMPONENT}(?:/{_COMPONENT})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"

_REFERENCE_RE = re.compile(rf"((?:{_DOMAIN}/)?{_PATH})(?::({_TAG}))?(?:@({_DIGEST}))?")
_NAME_RE = re.compile(rf"(?:({_DOMAIN})/)?({_PATH})")
_DOMAIN_RE = re.compile(_DOMAIN)
_PATH_RE = re.compile(_PATH)
_TAG_RE = re.compile(_TAG)
_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}")

_INVALID = "invalid reference format"


def _invalid(message: str, text: str) -> ReferenceInvalid:
    return ReferenceInvalid(message, detail=text)


def _split_docker_domain(name: str) -> tuple[str, str]:
    """Docker's splitDockerDomain: pick the registry domain out of a familiar name."""
    maybe_domain, slash, rest = name.partition("/")
    if not slash:
        return DEFAULT_DOMAIN, OFFICIAL_PREFIX + name
    if maybe_domain == LOCALHOST:
        domain, remote = maybe_domain, rest
    elif maybe_domain == LEGACY_DEFAULT_DOMAIN:
        domain, remote = DEFAULT_DOMAIN, rest
    elif any(c in maybe_domain for c in ".:") or maybe_domain.lower() != maybe_domain:
        domain, remote = maybe_domain, rest
    else:
        domain, remote = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in remote:
        remote = OFFICIAL_PREFIX + remote
    return domain, remote


def _parse_digest(text: str, whole: str) -> Digest:
    try:
        return Digest.parse(text)
    except Unsupported as e:
        raise _invalid(f"unsupported digest algorithm in {whole!r}", whole) from e
    except DigestInvalid as e:
        raise _invalid(f"invalid checksum digest format in {whole!r}", whole) from e


def _parse_full(text: str, original: str) -> Reference:
    """Docker's Parse() on an already-normalised ``domain/path[:tag][@digest]``."""
    if text == "":
        raise _invalid("repository name must have at least one component", original)
    m = _REFERENCE_RE.fullmatch(text)
    if m is None:
        lowered = text.lower()
        if lowered != text and _REFERENCE_RE.fullmatch(lowered):
            raise _invalid("repository name must be lowercase", original)
        raise _invalid(_INVALID, original)
    name, tag, digest_text = m.group(1), m.group(2), m.group(3)
    nm = _NAME_RE.fullmatch(name)
    assert nm is not None  # the name group matched the same grammar
    domain, path = nm.group(1), nm.group(2)
    if domain is None:
        # Docker would accept this as a domain-less name (e.g. "exa_mple.com/x"), which no
        # registry can serve; we refuse it.
        raise _invalid(_INVALID, original)
    if len(path) > NAME_MAX_LENGTH:
        raise _invalid(
            f"repository name must not be more than {NAME_MAX_LENGTH} characters", original
        )
    digest = _parse_digest(digest_text, original) if digest_text else None
    return Reference(domain, path, tag, digest)


@dataclass(frozen=True, slots=True)
class Reference:
    """A fully qualified image reference: registry domain, repository path, tag and/or digest."""

    domain: str
    path: str
    tag: str | None = None
    digest: Digest | None = None

    def __post_init__(self) -> None:
        if not _DOMAIN_RE.fullmatch(self.domain):
            raise _invalid(f"{_INVALID}: invalid registry domain {self.domain!r}", self.domain)
        if not _PATH_RE.fullmatch(self.path):
            if _PATH_RE.fullmatch(self.path.lower()):
                raise _invalid(
                    f"{_INVALID}: repository name ({self.path}) must be lowercase", self.path
                )
            raise _invalid(_INVALID, self.path)
        if len(self.path) > NAME_MAX_LENGTH:
            raise _invalid(
                f"repository name must not be more than {NAME_MAX_LENGTH} characters", self.path
            )
        if self.tag is not None and not _TAG_RE.fullmatch(self.tag):
            raise _invalid(f"invalid tag format: {self.tag!r}", self.tag)

    # --- parsing -------------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> Reference:
        """Docker's ParseNormalizedNamed: ``busybox`` → ``docker.io/library/busybox``.

        No tag is implied; use :meth:`parse_with_default_tag` for that.
        """
        if not isinstance(text, str):
            raise ReferenceInvalid(f"{_INVALID}: expected a string, got {type(text).__name__}")
        if _IDENTIFIER_RE.fullmatch(text):
            raise _invalid(
                f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings",
                text,
            )
        domain, remainder = _split_docker_domain(text)
        remote = remainder.split(":", 1)[0]
        if remote.lower() != remote:
            raise _invalid(f"{_INVALID}: repository name ({remote}) must be lowercase", text)
        return _parse_full(f"{domain}/{remainder}", text)

    @classmethod
    def parse_with_default_tag(cls, text: str) -> Reference:
        """Like :meth:`parse`, then Docker's TagNameOnly: add ``latest`` if no tag and no digest."""
        ref = cls.parse(text)
        if ref.tag is None and ref.digest is None:
            return ref.with_tag(DEFAULT_TAG)
        return ref

    @classmethod
    def parse_canonical(cls, text: str) -> Reference:
        """Docker's ParseNamed: the text must already be the full, normalised form."""
        ref = cls.parse(text)
        if str(ref) != text:
            raise _invalid("repository name must be canonical", text)
        return ref

    @classmethod
    def parse_docker_ref(cls, text: str) -> Reference:
        """Docker's ParseDockerRef: tag ``latest`` if bare; a digest wins over a tag."""
        ref = cls.parse_with_default_tag(text)
        if ref.tag is not None and ref.digest is not None:
            return cls(ref.domain, ref.path, None, ref.digest)
        return ref

    # --- views ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """``docker.io/library/busybox``: domain and path, no tag or digest."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The name as Docker shows it: ``busybox``, ``user/app``, ``localhost:5000/a/b``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        if self.path.startswith(OFFICIAL_PREFIX):
            rest = self.path[len(OFFICIAL_PREFIX) :]
            if "/" not in rest:
                return rest
        return self.path

    @property
    def familiar(self) -> str:
        """Docker's FamiliarString: ``busybox:latest``, ``busybox@sha256:…``."""
        return self.familiar_name + self._suffix()

    def _suffix(self) -> str:
        out = ""
        if self.tag is not None:
            out += f":{self.tag}"
        if self.digest is not None:
            out += f"@{self.digest}"
        return out

    def __str__(self) -> str:
        return self.name + self._suffix()

    # --- derived references --------------------------------------------------------------

    def with_tag(self, tag: str) -> Reference:
        if not isinstance(tag, str) or not _TAG_RE.fullmatch(tag):
            raise ReferenceInvalid(
                f"invalid tag format: {tag!r}",
                hint="a tag is up to 128 of A-Z a-z 0-9 _ . - and cannot start with . or -",
            )
        return Reference(self.domain, self.path, tag, self.digest)

    def with_digest(self, digest: Digest | str) -> Reference:
        if isinstance(digest, str):
            digest = _parse_digest(digest, digest)
        return Reference(self.domain, self.path, self.tag, digest)

    def without_tag_or_digest(self) -> Reference:
        return Reference(self.domain, self.path)

    @property
    def is_name_only(self) -> bool:
        return self.tag is None and self.digest is None
