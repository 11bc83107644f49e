"""The promotion policy as a push guard: a manifest PUT (any client, any route: ``/v2/``, the
API's tag creation, a promotion) that points a tag a policy covers at a digest is refused
unless that digest passes the policy's gates. What is pushed decides, not the route taken: the
digest is the pushed bytes' own, and the gates look at what the registry holds for it
(signatures, attestations, scan reports), so pushing the same manifest under ``:rc`` first,
signing, attesting and scanning it, then pushing ``:prod`` passes; a fresh unsigned ``:prod``
does not. What cannot run (cosign's signature and attestation manifests, SBOMs, other
artifacts) is never held, so a policy covering ``*`` still lets the gates' own evidence in."""

from __future__ import annotations

import hashlib

from dockyard.errors import DockyardError
from dockyard.registry.metadata import ManifestRecord
from dockyard.registry.policy import classify_record
from dockyard.registry.promotion._gates import describe_failures
from dockyard.registry.promotion._service import GatesFailed, Promotions

__all__ = ["PromotionGuard"]


class PromotionGuard:
    """A :class:`~dockyard.registry._push_guard.PushGuard` over :class:`Promotions`."""

    def __init__(self, promotions: Promotions) -> None:
        self.promotions = promotions

    def check_manifest(
        self, repository: str, tags: tuple[str, ...], body: bytes, content_type: str | None
    ) -> object:
        if not tags:
            return None
        covered = [t for t in tags if self.promotions.covering(repository, (t,))]
        if not covered:
            return None
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        record = ManifestRecord(digest, content_type or "", body)
        if not self._runnable(repository, record):
            return None  # signatures, attestations, SBOMs: what gates are made of
        results = self.promotions.check(repository, record, covered)
        if any(not r.passed for r in results):
            raise GatesFailed(
                f"pointing {repository}:{','.join(covered)} at {digest} is refused by the "
                f"project's promotion policy: {describe_failures(results)}",
                results,
                hint="pass the gates first, or promote with `dockyard promote` to see each "
                "gate's evidence",
            )
        return None

    def _runnable(self, repository: str, record: ManifestRecord) -> bool:
        """Whether the pushed content is something a client could run (told by its bytes and
        what it lists; True when that cannot be told)."""
        try:
            return classify_record(self.promotions.registry, repository, record).runnable
        except DockyardError:
            return True

    def pushed_manifest(self, repository: str, ticket: object) -> None:
        return None

    def check_blob(self, repository: str, digest: str, size: int) -> None:
        return None

    def check_delete(self, repository: str, reference: str) -> None:
        return None

    def deleted(self, repository: str) -> None:
        return None
