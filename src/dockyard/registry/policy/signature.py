"""Signature policy (what Harbor calls content trust): refuse pulls of unsigned images.

Per repository (or ``prefix/*``), ``signature: required`` with trusted public keys. A pull of
a manifest with no cosign signature verifying against a trusted key is refused with DENIED;
signed images pull normally; pushes are never checked (signatures come after the push).
Signatures, attestations and referrers themselves (and the fallback index) are always
readable, or no client could verify anything.

The server calls :func:`check_pull` with the manifest record it is about to serve.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from dockyard.digest import Digest
from dockyard.errors import InvalidArgument, SignatureInvalid, Unsupported
from dockyard.oci import Descriptor, Index
from dockyard.oci import mediatypes as mt
from dockyard.record import record
from dockyard.registry._registry import Registry
from dockyard.registry.metadata import ManifestRecord
from dockyard.sign import (
    DSSE_MEDIA_TYPE,
    SIMPLESIGNING_MEDIA_TYPE,
    PublicKey,
    load_public_key,
    verify_image,
)

__all__ = ["RegistryRepository", "SignaturePolicy", "SignatureRule", "check_pull"]

_ATTACHMENT_LAYERS = frozenset({SIMPLESIGNING_MEDIA_TYPE, DSSE_MEDIA_TYPE})
_ATTACHMENT_SUFFIXES = (".sig", ".att", ".sbom")


@record(frozen=True, slots=True)
class SignatureRule:
    """``repository`` is a name (``prod/app``) or a prefix (``prod/*``, ``*``)."""

    repository: str
    keys: tuple[PublicKey, ...]

    def matches(self, repository: str) -> bool:
        if self.repository.endswith("*"):
            return repository.startswith(self.repository[:-1])
        return repository == self.repository

    @property
    def specificity(self) -> int:
        return len(self.repository) + (0 if self.repository.endswith("*") else 10_000)


@record(frozen=True, slots=True)
class SignaturePolicy:
    rules: tuple[SignatureRule, ...] = ()

    def rule_for(self, repository: str) -> SignatureRule | None:
        """The most specific rule for ``repository`` (an exact name beats any prefix)."""
        found = [r for r in self.rules if r.matches(repository)]
        return max(found, key=lambda r: r.specificity) if found else None

    @classmethod
    def from_config(
        cls, entries: Sequence[Mapping[str, Any]], base: Path | None = None
    ) -> SignaturePolicy:
        """From config entries ``{repository: "prod/*", signature: required, keys: [...]}``;
        a key is a path to a PUBLIC KEY PEM (relative to ``base``) or the PEM text itself."""
        rules = []
        for i, entry in enumerate(entries):
            where = f"policies[{i}]"
            repository = entry.get("repository")
            if not isinstance(repository, str) or not repository:
                raise InvalidArgument(f"{where}.repository must be a repository name or prefix/*")
            mode = entry.get("signature", "required")
            if mode == "none":
                continue
            if mode != "required":
                raise InvalidArgument(
                    f"{where}.signature must be 'required' or 'none', got {mode!r}"
                )
            keys = entry.get("keys")
            if not isinstance(keys, list) or not keys:
                raise InvalidArgument(f"{where}.keys must list at least one trusted public key")
            rules.append(SignatureRule(repository, tuple(_key(k, base, where) for k in keys)))
        return cls(tuple(rules))


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


def _is_attachment(reference: str, record: ManifestRecord) -> bool:
    """cosign's own manifests (by tag or content) and referrer indexes stay readable."""
    if reference.endswith(_ATTACHMENT_SUFFIXES):
        return True
    try:
        obj = json.loads(record.content)
    except ValueError:
        return False
    if not isinstance(obj, dict):
        return False
    if obj.get("subject") is not None:
        return True  # an OCI 1.1 referrer (signature, SBOM, attestation …)
    layers = obj.get("layers")
    if isinstance(layers, list) and layers:
        kinds = {layer.get("mediaType") for layer in layers if isinstance(layer, dict)}
        if kinds and kinds <= _ATTACHMENT_LAYERS:
            return True
    manifests = obj.get("manifests")
    if isinstance(manifests, list) and manifests and reference.startswith("sha256-"):
        return all(isinstance(m, dict) and m.get("artifactType") for m in manifests)
    return False


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
    it) has none verifying against a trusted key. Returns quietly otherwise."""
    rule = policy.rule_for(repository)
    if rule is None or _is_attachment(reference, record):
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
