"""ScanEnforcement: the ``block-severity`` pull policy (a :class:`PullPolicy` of the registry).

A manifest GET of an image with fixable findings at or above the threshold is refused with
DENIED (403) and a message naming them. An image without a finished report (pending, failed,
or pushed before scanning was enabled: its scan is queued now) is refused too unless
``block-unscanned: false``, as Harbor's "prevent vulnerable images from running" does.
For an index, every image it lists counts.

ProjectVulnerabilityPolicy: a project's ``prevent_vul`` and ``severity`` (``auth: projects``),
as Harbor's "Prevent images with vulnerability severity of … or higher from running": a pull
of an image of the project whose report holds any vulnerability (fixable or not, outside the
``allow`` list) at or above the project's severity is refused, and so is an image without a
successful report; 412 ``PROJECTPOLICYVIOLATION`` with Harbor's message. As in Harbor, an
index is not checked itself: each image is, when it is pulled. The registry-wide
``block-severity`` stays in force in every project.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from dockyard.errors import VulnerabilityPolicyDenied
from dockyard.registry._registry import Registry
from dockyard.registry.metadata import ManifestRecord
from dockyard.registry.policy import RepositoryContent
from dockyard.registry.policy._projects import ProjectPolicyViolation, ProjectSettingsCache
from dockyard.registry.scanning._config import ScanningConfig
from dockyard.registry.scanning._images import scan_target
from dockyard.registry.scanning._records import DONE, FAILED, PENDING, STOPPED, ScanRecord
from dockyard.registry.scanning._scanner import Scanner

__all__ = [
    "Blocking",
    "ProjectVulnerabilityPolicy",
    "ScanEnforcement",
    "blocking_findings",
    "harbor_severity",
]

#: Findings named in a refusal message; the rest are counted.
SHOWN = 10


@dataclass(frozen=True, slots=True)
class Blocking:
    id: str
    package: str
    installed: str
    fixed: str
    severity: str

    def to_json(self) -> dict[str, str]:
        return {
            "VulnerabilityID": self.id,
            "PkgName": self.package,
            "InstalledVersion": self.installed,
            "FixedVersion": self.fixed,
            "Severity": self.severity,
        }

    def __str__(self) -> str:
        return (
            f"{self.id} ({self.package} {self.installed}, {self.severity}, fixed in {self.fixed})"
        )


def blocking_findings(report: dict[str, Any], config: ScanningConfig) -> list[Blocking]:
    """The findings of ``report`` that refuse a pull: fixable, severe enough, not allowed."""
    severities = config.blocked_severities
    out = []
    for r in report.get("Results") or []:
        if r.get("Severity") not in severities or not r.get("FixedVersion"):
            continue
        if config.allow & {r.get("VulnerabilityID"), *(r.get("Aliases") or [])}:
            continue
        out.append(
            Blocking(
                str(r["VulnerabilityID"]),
                str(r.get("PkgName", "")),
                str(r.get("InstalledVersion", "")),
                str(r["FixedVersion"]),
                str(r["Severity"]),
            )
        )
    return out


class ScanEnforcement:
    def __init__(self, config: ScanningConfig, scanner: Scanner) -> None:
        self.config = config
        self.scanner = scanner
        self._cache: OrderedDict[tuple[str, float], list[Blocking]] = OrderedDict()
        self._lock = threading.Lock()

    def applies(self, repository: str) -> bool:
        return self.config.blocking

    def blocking(self, record: ScanRecord) -> list[Blocking]:
        """``blocking_findings`` of a finished report, remembered per (digest, finish time)."""
        key = (record.digest, record.finished_at or 0.0)
        with self._lock:
            found = self._cache.get(key)
        if found is None:
            found = blocking_findings(record.report or {}, self.config)
            with self._lock:
                self._cache[key] = found
                if len(self._cache) > 4096:
                    self._cache.popitem(last=False)
        return found

    def check(
        self, registry: Registry, repository: str, reference: str, record: ManifestRecord
    ) -> None:
        target = scan_target(record, RepositoryContent(registry, repository))
        if target is None:
            return  # not an image: signatures, SBOMs and other artifacts pull freely
        found: list[Blocking] = []
        unscanned: list[str] = []
        for digest, _platform in target.images:
            scan = self.scanner.records.get(digest)
            if scan is None:
                self.scanner.queue(repository, digest)
                unscanned.append(f"{digest} (not scanned yet; queued now)")
            elif scan.status != DONE:
                detail = scan.error if scan.error else "scan pending"
                unscanned.append(f"{digest} ({scan.status}: {detail})")
            else:
                found.extend(b for b in self.blocking(scan) if b not in found)
        shown = f"{repository}:{reference}" if ":" not in reference else f"{repository}@{reference}"
        threshold = self.config.block_severity
        if found:
            names = "; ".join(str(b) for b in found[:SHOWN])
            more = f"; and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
            raise VulnerabilityPolicyDenied(
                f"pulling {shown} is refused by the registry's vulnerability policy "
                f"(block-severity: {threshold}): {len(found)} fixable finding(s) at {threshold} "
                f"or above: {names}{more}; upgrade the packages and push the image again",
                detail={"findings": [b.to_json() for b in found]},
            )
        if unscanned and self.config.block_unscanned:
            raise VulnerabilityPolicyDenied(
                f"pulling {shown} is refused by the registry's vulnerability policy "
                f"(block-severity: {threshold}, block-unscanned): no finished scan report for "
                f"{', '.join(unscanned)}; retry when the scan is done",
                detail={"unscanned": unscanned},
            )


#: Harbor's severity codes (``vuln.Severity.Code``): a report's severities and a project's
_CODES = {"NONE": 0, "UNKNOWN": 0, "NEGLIGIBLE": 1, "LOW": 2, "MEDIUM": 3, "HIGH": 4,
          "CRITICAL": 5}  # fmt: skip
#: Harbor's scan status names for a report that did not succeed
_STATUS = {PENDING: "Pending", FAILED: "Error", STOPPED: "Stopped"}


def harbor_severity(severity: str) -> str:
    """A project's ``severity`` as Harbor names it (``ParseSeverityVersion3``): None, Low,
    Medium, High, Critical, or Unknown for anything else (an empty one too)."""
    title = severity.strip().title()
    if title == "Negligible":
        return "None"
    return title if title in ("None", "Low", "Medium", "High", "Critical") else "Unknown"


def _code(severity: str) -> int:
    return _CODES.get(severity.upper(), 99)  # unrecognised: the highest, as Harbor


class ProjectVulnerabilityPolicy:
    """The pull policy of a project's ``prevent_vul`` and ``severity``."""

    def __init__(
        self, config: ScanningConfig, scanner: Scanner, settings: ProjectSettingsCache
    ) -> None:
        self.config = config
        self.scanner = scanner
        self.settings = settings

    def applies(self, repository: str) -> bool:
        known, found = self.settings.peek(repository)
        if not known:
            return True  # check() looks the project up, in a thread
        return found is not None and found.prevent_vul

    def check(
        self, registry: Registry, repository: str, reference: str, record: ManifestRecord
    ) -> None:
        found = self.settings.of_repository(repository)
        if found is None or not found.prevent_vul:
            return
        target = scan_target(record, RepositoryContent(registry, repository))
        if target is None or target.is_index:
            return  # artifacts pull freely; an index's images are checked when pulled
        severity = harbor_severity(found.severity)
        policy = (
            f"due to configured policy in 'Prevent images with vulnerability severity of "
            f'"{severity}" or higher from running.\' '
        )
        scan = self.scanner.records.get(record.digest)
        if scan is None:
            self.scanner.queue(repository, record.digest)  # so that a later pull may pass
            raise ProjectPolicyViolation(
                f"current image without vulnerability scanning cannot be pulled {policy}"
                "To continue with pull, please contact your project administrator for help.",
                detail={"project": found.name, "scan_status": "Not Scanned"},
            )
        if scan.status != DONE:
            status = _STATUS.get(scan.status, scan.status)
            raise ProjectPolicyViolation(
                f'current image with "{status}" status of vulnerability scanning cannot be '
                f"pulled {policy}To continue with pull, please contact your project "
                "administrator for help.",
                detail={"project": found.name, "scan_status": status},
            )
        results = [
            r
            for r in (scan.report or {}).get("Results") or []
            if not self.config.allow & {r.get("VulnerabilityID"), *(r.get("Aliases") or [])}
        ]
        worst = max((_code(str(r.get("Severity", ""))) for r in results), default=None)
        if worst is None or worst < _code(severity):
            return
        thing = "vulnerabilities" if len(results) > 1 else "vulnerability"
        raise ProjectPolicyViolation(
            f"current image with {len(results)} {thing} cannot be pulled {policy}To continue "
            "with pull, please contact your project administrator to exempt matched "
            "vulnerabilities through configuring the CVE allowlist.",
            detail={"project": found.name, "severity": severity},
        )
