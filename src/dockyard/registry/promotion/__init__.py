"""Promotion with gates: move an environment tag (``prod``) to a digest only when it is signed
by a trusted key, scanned fresh with nothing above a threshold, and attested; project policies
that make a tag require gates for every change (a push guard); and the audit of each attempt."""

from dockyard.registry.promotion._gates import GateResult, Gates, describe_failures
from dockyard.registry.promotion._guard import PromotionGuard
from dockyard.registry.promotion._move import TagMoved, move_tag
from dockyard.registry.promotion._open import open_promotions, registry_trusted, vulndb_age
from dockyard.registry.promotion._policies import PolicyStore, PromotionPolicy, parse_tags
from dockyard.registry.promotion._requirements import (
    ATTESTATION,
    GATES,
    SCAN,
    SIGNATURE,
    AttestationGate,
    Requirements,
    ScanGate,
    SignatureGate,
    key_id,
    parse_requirements,
)
from dockyard.registry.promotion._service import GatesFailed, Promotion, Promotions

__all__ = [
    "ATTESTATION",
    "GATES",
    "SCAN",
    "SIGNATURE",
    "AttestationGate",
    "GateResult",
    "Gates",
    "GatesFailed",
    "PolicyStore",
    "Promotion",
    "PromotionGuard",
    "PromotionPolicy",
    "Promotions",
    "Requirements",
    "ScanGate",
    "SignatureGate",
    "TagMoved",
    "describe_failures",
    "key_id",
    "move_tag",
    "open_promotions",
    "parse_requirements",
    "parse_tags",
    "registry_trusted",
    "vulndb_age",
]
