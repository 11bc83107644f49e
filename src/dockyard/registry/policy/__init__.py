"""Registry policies enforced on requests (signature requirements)."""

from dockyard.registry.policy._enforcement import SignatureEnforcement, signature_enforcement
from dockyard.registry.policy.signature import (
    RegistryRepository,
    SignaturePolicy,
    SignatureRule,
    check_pull,
)

__all__ = [
    "RegistryRepository",
    "SignatureEnforcement",
    "SignaturePolicy",
    "SignatureRule",
    "check_pull",
    "signature_enforcement",
]
