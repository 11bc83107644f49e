"""Promotions: move an environment tag to a digest only when every gate holds.

The gates are the project's (every promotion policy covering the tag) and the request's (which
can only add to them). They are checked server-side just before the move; the move itself goes
through the registry's guard chain (immutable tags, quotas… and the promotion guard, which
checks the policy's gates once more at that moment) and is one compare-and-set on the tag
(:func:`~dockyard.registry.promotion._move.move_tag`): of two concurrent promotions one wins,
the other gets 409 CONFLICT. Every attempt — moved, refused by a gate, refused by a guard, lost
to another — is one audit log entry (operation ``promote``) with the gates' evidence, and a
move publishes a ``PUSH_ARTIFACT`` event whose details carry the promotion.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import Denied, DockyardError, NameInvalid
from dockyard.registry._names import check_tag
from dockyard.registry._registry import Registry
from dockyard.registry.access import AccessService, project_of
from dockyard.registry.events import NO_EVENTS, PUSH_ARTIFACT, Event, EventSink
from dockyard.registry.metadata import ManifestRecord
from dockyard.registry.promotion._gates import GateResult, Gates, describe_failures
from dockyard.registry.promotion._move import move_tag
from dockyard.registry.promotion._policies import PolicyStore, PromotionPolicy
from dockyard.registry.promotion._requirements import Requirements
from dockyard.sign import PublicKey

__all__ = ["GatesFailed", "Promotion", "Promotions"]

#: the audit log's operation for a promotion attempt
OPERATION = "promote"
#: what the audit log keeps of a description
DESCRIPTION_MAX = 1024


class GatesFailed(Denied):
    """A gate did not hold (403); ``results`` are every gate's outcome."""

    def __init__(self, message: str, results: Sequence[GateResult], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.results = list(results)


@dataclass(frozen=True, slots=True)
class Promotion:
    """A promotion that moved (or found already there) ``repository:tag`` → ``digest``."""

    repository: str
    tag: str
    digest: str
    previous: str | None
    results: list[GateResult] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "tag": self.tag,
            "digest": self.digest,
            "previous": self.previous,
            "moved": self.previous != self.digest,
            "gates": [r.to_json() for r in self.results],
        }


def _compact(results: Sequence[GateResult]) -> list[dict[str, Any]]:
    """The evidence the audit log keeps (its description holds 1 KiB)."""
    out = []
    for r in results:
        entry: dict[str, Any] = {"gate": r.gate, "source": r.source, "ok": r.passed}
        ev = r.evidence
        if "key_ids" in ev:
            entry["keys"] = ev["key_ids"]
        if "attestations" in ev:
            entry["attestation"] = ev["attestations"][0]
        if "reports" in ev:
            totals: dict[str, int] = {}
            for report in ev["reports"]:
                for severity, n in report["summary"].items():
                    if n:
                        totals[severity] = totals.get(severity, 0) + n
            entry["scan"] = {"max": ev.get("max_severity"), "findings": totals}
        out.append(entry)
    return out


def _fitted(description: dict[str, Any], refused: str | None) -> str:
    """The audit description as JSON within :data:`DESCRIPTION_MAX` characters: the gates'
    evidence reduced to their outcomes when it is too long, then the refusal shortened."""

    def dump(obj: dict[str, Any]) -> str:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)

    if len(dump(description)) > DESCRIPTION_MAX:
        description["gates"] = [
            {"gate": g["gate"], "source": g["source"], "ok": g["ok"]} for g in description["gates"]
        ]
    if refused is not None:
        description["refused"] = refused
        while len(dump(description)) > DESCRIPTION_MAX:
            text = description["refused"]
            if len(text) <= 1:
                del description["refused"]
                break
            keep = len(text) - max(1, (len(dump(description)) - DESCRIPTION_MAX) // 2) - 1
            description["refused"] = text[: max(0, keep)] + "…"
    return dump(description)


class Promotions:
    """Promotions in one registry. ``trusted(repository)``: keys the server trusts beyond the
    policies' own (e.g. the registry's signature policy); ``before_move``: called after the
    gates hold and before the tag moves (the seam a test uses to line two promotions up)."""

    def __init__(
        self,
        registry: Registry,
        access: AccessService | None,
        policies: PolicyStore,
        gates: Gates,
        *,
        trusted: Callable[[str], Sequence[PublicKey]] | None = None,
        events: EventSink = NO_EVENTS,
        before_move: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.registry = registry
        self.access = access
        self.policies = policies
        self.gates = gates
        self._trusted = trusted
        self.events = events
        self.before_move = before_move

    # --- what applies ----------------------------------------------------------------------

    def covering(self, repository: str, tags: Sequence[str]) -> list[PromotionPolicy]:
        """The promotion policies of ``repository``'s project that cover any of ``tags``."""
        if not tags or self.access is None:
            return []
        try:
            project = project_of(repository)
        except NameInvalid:
            return []
        ref = self.access.projects.ref(project)
        if ref is None:
            return []
        return self.policies.covering(ref[0], project, tags)

    def trusted_keys(self, repository: str, policies: Sequence[PromotionPolicy]) -> list[PublicKey]:
        """The keys the server trusts for ``repository``: the policies' and the registry's."""
        keys: list[PublicKey] = []
        for policy in policies:
            if policy.require.signature is not None:
                keys.extend(policy.require.signature.keys)
            for attestation in policy.require.attestations:
                keys.extend(attestation.keys)
        if self._trusted is not None:
            keys.extend(self._trusted(repository))
        unique: dict[bytes, PublicKey] = {k.pem: k for k in keys}
        return list(unique.values())

    def check(
        self,
        repository: str,
        record: ManifestRecord,
        tags: Sequence[str],
        request: Requirements | None = None,
    ) -> list[GateResult]:
        """Every gate the policies covering ``tags`` and the ``request`` ask for, checked
        against ``record`` (blocking)."""
        policies = self.covering(repository, tags)
        trusted = self.trusted_keys(repository, policies)
        results: list[GateResult] = []
        for policy in policies:
            source = f"policy {policy.id}"
            results += self.gates.check(repository, record, policy.require, source, trusted)
        if request is not None:
            results += self.gates.check(repository, record, request, "request", trusted)
        return results

    # --- the move --------------------------------------------------------------------------

    def promote(
        self,
        repository: str,
        reference: str,
        tag: str,
        request: Requirements | None = None,
        *,
        operator: str = "",
        client_ip: str = "",
    ) -> Promotion:
        """Move ``repository:tag`` to the digest ``reference`` names, if every gate holds.
        GatesFailed (403) names the failing gates; TagMoved (409) when another change to the
        tag came first; the guard chain's own refusals pass through."""
        check_tag(tag)
        record = self.registry.manifest(repository, reference)
        current = self.registry.meta.manifest_by_tag(repository, tag)
        previous = current.digest if current is not None else None
        results = self.check(repository, record, (tag,), request)
        failed = [r for r in results if not r.passed]
        shown = f"{repository}:{tag}"
        if failed:
            message = f"promotion of {repository}@{record.digest} to {tag} refused: " + (
                describe_failures(results)
            )
            self._audit(shown, operator, client_ip, record, previous, results, message)
            raise GatesFailed(message, results)
        if self.before_move is not None:
            self.before_move(repository, tag, record.digest)
        guard = self.registry.guard
        try:
            ticket = None
            if guard is not None:
                ticket = guard.check_manifest(repository, (tag,), record.content, record.media_type)
            move_tag(self.registry, repository, tag, record.digest, previous)
            if guard is not None:
                guard.pushed_manifest(repository, ticket)
        except DockyardError as exc:
            self._audit(shown, operator, client_ip, record, previous, results, exc.message)
            raise
        self._audit(shown, operator, client_ip, record, previous, results, None)
        promotion = Promotion(repository, tag, record.digest, previous, results)
        self.events.publish(
            Event(
                PUSH_ARTIFACT,
                project_of(repository) if "/" in repository else "",
                repository,
                operator=operator,
                digest=record.digest,
                tag=tag,
                media_type=record.media_type,
                size=len(record.content),
                details={"promotion": {"previous": previous, "gates": _compact(results)}},
            )
        )
        return promotion

    def _audit(
        self,
        resource: str,
        operator: str,
        client_ip: str,
        record: ManifestRecord,
        previous: str | None,
        results: Sequence[GateResult],
        refused: str | None,
    ) -> None:
        if self.access is None:
            return
        description: dict[str, Any] = {
            "digest": record.digest,
            "previous": previous,
            "gates": _compact(results),
        }
        text = _fitted(description, refused)
        project = resource.partition("/")[0] if "/" in resource else ""
        self.access.audit.record(
            OPERATION,
            "artifact",
            resource,
            operator or "system",
            project=project,
            client_ip=client_ip,
            ok=refused is None,
            description=text,
        )
