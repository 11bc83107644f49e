"""Signature policy (what Harbor calls content trust): refuse pulls of unsigned images.

Per repository (or ``prefix/*``), ``signature: required`` with trusted public keys, or
``signature: none`` to exempt repositories from a broader rule; the most specific rule wins
(an exact name beats any prefix, a longer prefix beats a shorter one). A pull of a runnable
image (or of an index listing one) with no cosign signature verifying against a trusted key is
refused with DENIED; signed images pull normally; pushes are never checked (signatures come
after the push). What cannot run (signatures, attestations, SBOMs and other artifacts, and
indexes listing only those: referrers, cosign's fallback tag) is always readable, or no client
could verify anything. What a manifest is comes from its content
(:mod:`dockyard.oci.classify`), never from its tag or its ``subject``.

The server calls :func:`check_pull` with the manifest record it is about to serve.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.digest import Digest
from dockyard.errors import DockyardError, InvalidArgument, SignatureInvalid, Unsupported
from dockyard.oci import Descriptor, Index
from dockyard.oci import mediatypes as mt
from dockyard.registry._registry import Registry
from dockyard.registry.metadata import ManifestRecord
from dockyard.registry.policy._content import classify_record
from dockyard.sign import PublicKey, load_public_key, verify_image

__all__ = ["RegistryRepository", "SignaturePolicy", "SignatureRule", "check_pull"]


def _matches(pattern: str, repository: str) -> bool:
    if pattern.endswith("*"):
        return repository.startswith(pattern[:-1])
    return repository == pattern


def _specificity(pattern: str) -> int:
    """Exact names beat every prefix; among prefixes, the longer one wins."""
    return len(pattern) + (0 if pattern.endswith("*") else 10_000)


@dataclass(frozen=True, slots=True)
class SignatureRule:
    """``repository`` is a name (``prod/app``) or a prefix (``prod/*``, ``*``)."""

    repository: str
    keys: tuple[PublicKey, ...]

    def matches(self, repository: str) -> bool:
        return _matches(self.repository, repository)

    @property
    def specificity(self) -> int:
        return _specificity(self.repository)


@dataclass(frozen=True, slots=True)
class SignaturePolicy:
    """``rules`` require signatures; ``exemptions`` are the ``signature: none`` patterns."""

    rules: tuple[SignatureRule, ...] = ()
    exemptions: tuple[str, ...] = ()

    def rule_for(self, repository: str) -> SignatureRule | None:
        """The rule requiring signatures in ``repository``: the most specific pattern
        matching it (an exact name beats any prefix, a longer prefix a shorter one), unless
        that pattern is an exemption or nothing matches (then None)."""
        patterns: list[tuple[str, SignatureRule | None]] = [
            (p, None) for p in self.exemptions if _matches(p, repository)
        ]
        patterns += [(r.repository, r) for r in self.rules if r.matches(repository)]
        if not patterns:
            return None
        return max(patterns, key=lambda found: _specificity(found[0]))[1]

    @classmethod
    def from_config(
        cls, entries: Sequence[Mapping[str, Any]], base: Path | None = None
    ) -> SignaturePolicy:
        """From config entries ``{repository: "prod/*", signature: required, keys: [...]}``;
        a key is a path to a PUBLIC KEY PEM (relative to ``base``) or the PEM text itself."""
        rules: list[SignatureRule] = []
        exemptions: list[str] = []
        for i, entry in enumerate(entries):
            where = f"policies[{i}]"
            repository = entry.get("repository")
            if not isinstance(repository, str) or not repository:
                raise InvalidArgument(f"{where}.repository must be a repository name or prefix/*")
            if repository in exemptions or any(r.repository == repository for r in rules):
                raise InvalidArgument(
                    f"{where}.repository {repository!r} has a rule already; keep one rule "
                    "per repository name or prefix"
                )
            mode = entry.get("signature", "required")
            if mode == "none":
                if entry.get("keys"):
                    raise InvalidArgument(
                        f"{where}: signature: none takes no keys; remove them, or say "
                        "signature: required"
                    )
                exemptions.append(repository)
                continue
            if mode != "required":
                raise InvalidArgument(
                    f"{where}.signature must be 'required' or 'none', got {mode!r}"
                )
            keys = entry.get("keys")
            if not isinstance(keys, list) or not keys:
                raise InvalidArgument(f"{where}.keys must list at least one trusted public key")
            rules.append(SignatureRule(repository, tuple(_key(k, base, where) for k in keys)))
        return cls(tuple(rules), tuple(exemptions))


def _key(value: object, base: Path | None, where: str) -> PublicKey:
    if not isinstance(value, str):
        raise InvalidArgument(f"{where}.keys: each key is a file path or PEM text")
    if "-----BEGIN" in value:
        return load_public_key(value.encode())
    path = Path(value) if base is None or Path(value).is_absolute() else base / value
    try:
        return load_public_key(path.read_bytes())
    except OSError as e:
        raise InvalidArgument(f"{where}.keys: cannot read {path}: {e.strerror}") from None


class RegistryRepository:
    """One repository of the registry's own storage, read-only, as signing's Repository."""

    def __init__(self, registry: Registry, repository: str) -> None:
        self.registry = registry
        self.repository = repository

    @property
    def name(self) -> str:
        return self.repository

    def resolve(self, reference: str) -> Descriptor:
        record = self.registry.manifest(self.repository, reference)
        return Descriptor(record.media_type, Digest.parse(record.digest), len(record.content))

    def get_manifest(self, reference: str) -> tuple[bytes, str]:
        record = self.registry.manifest(self.repository, reference)
        return record.content, record.media_type

    def get_blob(self, descriptor: Descriptor) -> bytes:
        handle = self.registry.blob(self.repository, descriptor.digest)
        with handle.open() as stream:
            data = stream.read(descriptor.size + 1)
        descriptor.digest.verify(data)
        return data

    def put_blob(self, data: bytes) -> Digest:
        raise Unsupported("the signature policy reads the registry; it never writes")

    def put_manifest(self, raw: bytes, media_type: str, tag: str | None = None) -> bool:
        raise Unsupported("the signature policy reads the registry; it never writes")

    def tags(self) -> list[str]:
        return self.registry.tags(self.repository)

    def referrers(self, digest: Digest) -> list[Descriptor] | None:
        raw = self.registry.referrers(self.repository, digest, None)
        return list(Index.parse(raw, mt.OCI_INDEX).manifests)


def _runnable(registry: Registry, repository: str, record: ManifestRecord) -> bool:
    """Whether ``record`` is something a client could run (and so needs a signature);
    decided by content, and True when that cannot be told."""
    try:
        return classify_record(registry, repository, record).runnable
    except DockyardError:
        return True


def check_pull(
    policy: SignaturePolicy,
    registry: Registry,
    repository: str,
    reference: str,
    record: ManifestRecord,
    *,
    parents: Iterable[Digest] = (),
) -> None:
    """Raise SignatureInvalid (DENIED, 403) when ``policy`` requires a signature for
    ``repository`` and the manifest ``record`` (or one of the ``parents`` indexes that list
    it) has none verifying against a trusted key. Returns quietly otherwise. ``reference``
    (the tag or digest asked for) plays no part: what needs a signature is told by content."""
    rule = policy.rule_for(repository)
    if rule is None or not _runnable(registry, repository, record):
        return
    repo = RegistryRepository(registry, repository)
    reasons: list[str] = []
    for digest in (Digest.parse(record.digest), *parents):
        try:
            verify_image(repo, digest, rule.keys)
            return
        except SignatureInvalid as e:
            reasons.append(e.message)
    raise SignatureInvalid(
        f"pull of {repository}@{record.digest} refused: the signature policy for "
        f"{rule.repository!r} requires a signature by a trusted key; {'; '.join(reasons)}",
        hint="sign the image (dockyard sign --key KEY IMAGE) with a key the registry trusts",
    )
