"""Artifacts by their worst vulnerability (blocking: run in a thread): what the dashboard's
chart (through ``GET /api/v2.0/vulnerabilities/summary``) and the artifact listing's
``scan_overview`` count. Reads the registry's scan reports only; no scan is queued."""

from __future__ import annotations

from typing import Any

from dockyard.errors import DockyardError
from dockyard.registry._registry import Registry
from dockyard.registry.scanning import scan_target

__all__ = ["SEVERITIES", "worst_of", "worst_severities"]

#: worst first; ``NONE``: scanned, nothing found; ``UNSCANNED``: no finished report yet
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN", "NONE", "UNSCANNED")


def worst_severities(
    reports: Any, registry: Registry, artifacts: list[tuple[str, str]]
) -> dict[str, int]:
    """Artifacts (repository, digest) counted by their worst finding; an index by the worst
    of its images; an artifact that is no image (or is gone) is not counted."""
    counts = dict.fromkeys(SEVERITIES, 0)
    for repository, digest in artifacts:
        worst = worst_of(reports, registry, repository, digest)
        if worst is not None:
            counts[worst] += 1
    return counts


def worst_of(reports: Any, registry: Registry, repository: str, digest: str) -> str | None:
    """The worst severity of the artifact's scan report (an index: of its images'), "NONE"
    without findings, "UNSCANNED" while a report is missing; None when it is not an image
    (or is gone)."""
    try:
        target = scan_target(registry.manifest(repository, digest))
    except DockyardError:  # deleted meanwhile
        return None
    if target is None:
        return None
    worst = "NONE"
    for image, _ in target.images:
        record = reports.scanner.records.get(image)
        if record is None or record.report is None:
            return "UNSCANNED"
        found = {
            str(r.get("Severity", "UNKNOWN")).upper() for r in record.report.get("Results") or ()
        }
        for level in SEVERITIES:
            if level in found and SEVERITIES.index(level) < SEVERITIES.index(worst):
                worst = level
    return worst
