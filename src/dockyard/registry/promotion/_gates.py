"""Checking the gates against what the registry holds for one digest (blocking: run in a thread).

* signature: a cosign signature of the digest (tag schema or referrer) verifying with a key;
* scan: for the image (every image of an index) a finished scan report made with the newest
  vulnerability database (``db_updated_at`` not older than it), nothing above the threshold;
* attestation: a DSSE in-toto attestation of the predicate type, signed by a key, whose
  subject is exactly the digest.

Each result carries its evidence (key ids, the scan summary, the attestation layer's digest):
what the audit log records and the answers show.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.digest import Digest
from dockyard.errors import SignatureInvalid
from dockyard.registry._registry import Registry
from dockyard.registry.metadata import ManifestRecord
from dockyard.registry.policy import RegistryRepository, RepositoryContent
from dockyard.registry.promotion._requirements import (
    ATTESTATION,
    SCAN,
    SIGNATURE,
    AttestationGate,
    Requirements,
    ScanGate,
    SignatureGate,
    key_id,
)
from dockyard.registry.scanning import ScanRecords, scan_target
from dockyard.scan import SEVERITIES
from dockyard.sign import PublicKey, verify_attestations, verify_image

__all__ = ["GateResult", "Gates", "describe_failures"]

_DONE = "done"


@dataclass(frozen=True, slots=True)
class GateResult:
    """One gate's outcome; ``source`` is ``policy`` (the project's) or ``request``."""

    gate: str
    source: str
    passed: bool
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "source": self.source,
            "passed": self.passed,
            "message": self.message,
            "evidence": self.evidence,
        }


def describe_failures(results: Sequence[GateResult]) -> str:
    """``signature gate (policy): …; scan gate (request): …`` for the failed ones."""
    return "; ".join(
        f"{r.gate} gate ({r.source}) failed: {r.message}" for r in results if not r.passed
    )


class Gates:
    """Checks :class:`Requirements` for a digest of a repository. ``vulndb_updated()``: when
    the newest source of the vulnerability database was imported (None: unknown, and then no
    scan report can be shown fresh). :meth:`check`'s ``trusted`` are the keys the server
    trusts for the repository: a gate without keys of its own verifies with these."""

    def __init__(
        self,
        registry: Registry,
        scans: ScanRecords | None,
        vulndb_updated: Callable[[], float | None],
    ) -> None:
        self.registry = registry
        self.scans = scans
        self.vulndb_updated = vulndb_updated

    def check(
        self,
        repository: str,
        record: ManifestRecord,
        required: Requirements,
        source: str,
        trusted: Sequence[PublicKey],
    ) -> list[GateResult]:
        out: list[GateResult] = []
        if required.signature is not None:
            out.append(self._signature(repository, record, required.signature, source, trusted))
        if required.scan is not None:
            out.append(self._scan(repository, record, required.scan, source))
        for attestation in required.attestations:
            out.append(self._attestation(repository, record, attestation, source, trusted))
        return out

    # --- signature -------------------------------------------------------------------------

    def _signature(
        self,
        repository: str,
        record: ManifestRecord,
        gate: SignatureGate,
        source: str,
        trusted: Sequence[PublicKey],
    ) -> GateResult:
        keys = gate.keys or tuple(trusted)
        if not keys:
            return GateResult(
                SIGNATURE,
                source,
                False,
                "no trusted key to verify with: give the policy (or the request) a public key",
            )
        repo = RegistryRepository(self.registry, repository)
        digest = Digest.parse(record.digest)
        verified: list[str] = []
        reason = ""
        for key in keys:
            try:
                verify_image(repo, digest, [key])
            except SignatureInvalid as exc:
                reason = exc.message
                continue
            verified.append(key_id(key))
        if not verified:
            return GateResult(
                SIGNATURE,
                source,
                False,
                f"no signature of {record.digest} verifies with "
                f"{_key_names(keys)}: {reason}; sign it (dockyard sign --key KEY IMAGE)",
                {"key_ids": []},
            )
        return GateResult(
            SIGNATURE,
            source,
            True,
            f"signed by {', '.join(verified)}",
            {"key_ids": verified},
        )

    # --- scan ------------------------------------------------------------------------------

    def _scan(
        self, repository: str, record: ManifestRecord, gate: ScanGate, source: str
    ) -> GateResult:
        def fail(message: str, evidence: dict[str, Any] | None = None) -> GateResult:
            return GateResult(SCAN, source, False, message, evidence or {})

        if self.scans is None:
            return fail("the registry keeps no scan reports (configure scanning)")
        target = scan_target(record, RepositoryContent(self.registry, repository))
        if target is None or not target.images:
            return fail(f"{record.digest} is not an image: there is nothing to scan")
        db_updated = self.vulndb_updated()
        if db_updated is None:
            return fail(
                "the age of the vulnerability database is unknown (no database, or an empty "
                "one): import advisories (dockyard db import) and scan again"
            )
        allowed = SEVERITIES.index(gate.max_severity)
        reports: list[dict[str, Any]] = []
        problems: list[str] = []
        for digest, _platform in target.images:
            scan = self.scans.get(digest)
            if scan is None or scan.status != _DONE or scan.report is None:
                state = "not scanned" if scan is None else f"scan {scan.status}"
                problems.append(f"{digest} has no finished scan report ({state})")
                continue
            counts = _counts(scan.report)
            reports.append(
                {
                    "digest": digest,
                    "finished_at": scan.finished_at,
                    "db_updated_at": scan.db_updated_at,
                    "summary": counts,
                }
            )
            if scan.db_updated_at is None or scan.db_updated_at < db_updated:
                problems.append(
                    f"the scan report of {digest} is older than the vulnerability database; "
                    "scan it again"
                )
            above = {s: n for s, n in counts.items() if n and SEVERITIES.index(s) > allowed}
            if above:
                found = ", ".join(f"{n} {s}" for s, n in above.items())
                problems.append(f"{digest} has findings above {gate.max_severity.lower()}: {found}")
        evidence = {
            "max_severity": gate.max_severity.lower(),
            "db_updated_at": db_updated,
            "reports": reports,
        }
        if problems:
            return fail("; ".join(problems), evidence)
        total = {s: sum(r["summary"].get(s, 0) for r in reports) for s in SEVERITIES}
        shown = ", ".join(f"{n} {s}" for s, n in total.items() if n) or "no findings"
        return GateResult(
            SCAN, source, True, f"scan: {shown} (max {gate.max_severity.lower()})", evidence
        )

    # --- attestation -----------------------------------------------------------------------

    def _attestation(
        self,
        repository: str,
        record: ManifestRecord,
        gate: AttestationGate,
        source: str,
        trusted: Sequence[PublicKey],
    ) -> GateResult:
        keys = gate.keys or tuple(trusted)
        kind = gate.predicate_type
        if not keys:
            return GateResult(
                ATTESTATION,
                source,
                False,
                f"no trusted key to verify the {kind} attestation with: give the policy (or "
                "the request) a public key",
                {"predicate_type": kind},
            )
        repo = RegistryRepository(self.registry, repository)
        try:
            verified = verify_attestations(repo, Digest.parse(record.digest), list(keys), kind)
        except SignatureInvalid as exc:
            return GateResult(
                ATTESTATION,
                source,
                False,
                f"no {kind} attestation of {record.digest} signed by {_key_names(keys)}: "
                f"{exc.message}; attach one (dockyard attest --type {kind} --predicate FILE "
                "--key KEY IMAGE)",
                {"predicate_type": kind},
            )
        layers = [str(v.layer.digest) for v in verified]
        signers = sorted({key_id(k) for v in verified for k in keys if v.envelope.verify(k)})
        return GateResult(
            ATTESTATION,
            source,
            True,
            f"{kind} attested in {layers[0]}",
            {"predicate_type": kind, "attestations": layers, "key_ids": signers},
        )


def _key_names(keys: Sequence[PublicKey]) -> str:
    names = [key_id(k) for k in keys]
    return "key " + names[0] if len(names) == 1 else "any of the keys " + ", ".join(names)


def _counts(report: dict[str, Any]) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITIES, 0)
    for finding in report.get("Results") or []:
        severity = str(finding.get("Severity") or "UNKNOWN").upper()
        counts[severity if severity in counts else "UNKNOWN"] += 1
    return counts
