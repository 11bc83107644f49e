"""Signature enforcement for the server: the ``policies.signatures`` config section, and the
check a manifest GET/HEAD runs before it answers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dockyard.digest import Digest
from dockyard.errors import InvalidArgument
from dockyard.registry._registry import Registry
from dockyard.registry.metadata import ManifestRecord
from dockyard.registry.policy.signature import SignaturePolicy, check_pull

__all__ = ["SignatureEnforcement", "signature_enforcement"]


class SignatureEnforcement:
    """What :class:`Registry` calls as its ``pull_policy``."""

    def __init__(self, policy: SignaturePolicy) -> None:
        self.policy = policy

    def applies(self, repository: str) -> bool:
        """Cheap: whether a rule covers ``repository`` (only then is ``check`` needed)."""
        return self.policy.rule_for(repository) is not None

    def check(
        self, registry: Registry, repository: str, reference: str, record: ManifestRecord
    ) -> None:
        """Raise SignatureInvalid (DENIED) unless the manifest, or an index in the same
        repository listing it, has a signature by a trusted key (blocking: run in a thread)."""
        parents = [Digest.parse(d) for d in registry.meta.parent_indexes(repository, record.digest)]
        check_pull(self.policy, registry, repository, reference, record, parents=parents)


def signature_enforcement(
    sections: Mapping[str, Any], base: Path | None = None
) -> SignatureEnforcement | None:
    """From the config's ``policies`` section (``policies: {signatures: [...]}``); None when it
    has no signature rules. Key paths are relative to ``base`` (the working directory)."""
    policies = sections.get("policies")
    if policies is None:
        return None
    if not isinstance(policies, Mapping):
        raise InvalidArgument(
            "config: policies must be a mapping, e.g. policies: {signatures: [{repository: "
            "'prod/*', signature: required, keys: [cosign.pub]}]}"
        )
    entries = policies.get("signatures")
    if entries is None:
        return None
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise InvalidArgument(
            "config: policies.signatures must be a list of {repository, signature, keys} entries"
        )
    policy = SignaturePolicy.from_config(entries, base)
    return SignatureEnforcement(policy) if policy.rules else None
