"""Putting promotions together for a registry: the policies' table, the gates (scan reports
and the vulnerability database's age), the keys the registry's signature policy trusts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from dockyard.registry._registry import Registry
from dockyard.registry.access import AccessService
from dockyard.registry.events import NO_EVENTS, EventSink
from dockyard.registry.policy import SignatureEnforcement
from dockyard.registry.promotion._gates import Gates
from dockyard.registry.promotion._policies import PolicyStore
from dockyard.registry.promotion._service import Promotions
from dockyard.registry.scanning import PolicyChain, ScanRecords
from dockyard.scan import VulnDB
from dockyard.sign import PublicKey

__all__ = ["open_promotions", "registry_trusted", "vulndb_age"]


def vulndb_age(path: Path | None) -> Callable[[], float | None]:
    """When the newest source of the vulnerability database at ``path`` was imported (what a
    scan report's ``db_updated_at`` is compared with); None when there is no such database or
    it is empty. Read on every call: an import while the registry runs counts at once."""

    def updated() -> float | None:
        if path is None or not path.is_file():
            return None
        db = VulnDB(path)
        try:
            sources = db.status()["sources"]
        finally:
            db.close()
        return max((float(s["importedAt"]) for s in sources), default=None)

    return updated


def registry_trusted(registry: Registry) -> Callable[[str], Sequence[PublicKey]]:
    """The keys the registry's signature policy (``policies.signatures``) trusts for a
    repository, looked up when asked (the pull policy may be installed later)."""

    def trusted(repository: str) -> Sequence[PublicKey]:
        policy = registry.pull_policy
        candidates = policy.policies if isinstance(policy, PolicyChain) else (policy,)
        for candidate in candidates:
            if isinstance(candidate, SignatureEnforcement):
                rule = candidate.policy.rule_for(repository)
                if rule is not None:
                    return rule.keys
        return ()

    return trusted


def open_promotions(
    registry: Registry,
    access: AccessService | None,
    *,
    vulndb: Path | None = None,
    events: EventSink = NO_EVENTS,
) -> Promotions:
    """Promotions in ``registry`` (tables created when missing: call it from a thread), the
    audit log in ``access``; scan reports are compared with the database at ``vulndb`` (the
    ``scanning.db`` the registry scans with)."""
    db = registry.meta.db
    gates = Gates(registry, ScanRecords(db), vulndb_age(vulndb))
    return Promotions(
        registry,
        access,
        PolicyStore(db),
        gates,
        trusted=registry_trusted(registry),
        events=events,
    )
