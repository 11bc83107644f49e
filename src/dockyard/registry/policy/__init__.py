"""Registry policies enforced on requests (signature requirements)."""

from dockyard.registry.policy.signature import (
    RegistryRepository,
    SignaturePolicy,
    SignatureRule,
    check_pull,
)

__all__ = ["RegistryRepository", "SignaturePolicy", "SignatureRule", "check_pull"]
