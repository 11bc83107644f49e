"""Registry policies enforced on requests (signature requirements), and the content lookup
they share to tell what a manifest is."""

from dockyard.registry.policy._content import RepositoryContent, classify_record
from dockyard.registry.policy._enforcement import SignatureEnforcement, signature_enforcement
from dockyard.registry.policy.signature import (
    RegistryRepository,
    SignaturePolicy,
    SignatureRule,
    check_pull,
)

__all__ = [
    "RegistryRepository",
    "RepositoryContent",
    "SignatureEnforcement",
    "SignaturePolicy",
    "SignatureRule",
    "check_pull",
    "classify_record",
    "signature_enforcement",
]
