"""``dockyard scan``: findings filtered (severity, ignore file, unfixed) and rendered (table,
JSON, SARIF 2.1.0, CycloneDX 1.5 with vulnerabilities)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard import __version__
from dockyard.errors import InvalidArgument
from dockyard.scan._cvss import base_score
from dockyard.scan._cyclonedx import component_ref, cyclonedx_bom
from dockyard.scan._inventory import Inventory
from dockyard.scan._matcher import Finding

__all__ = ["REPORT_FORMATS", "SEVERITIES", "Report", "parse_severities", "read_ignorefile"]

SEVERITIES = ("UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL")
REPORT_FORMATS = ("table", "json", "sarif", "cyclonedx")
_SARIF_LEVEL = {
    "CRITICAL": "error",
    "HIGH": "error",
    "MEDIUM": "warning",
    "LOW": "note",
    "NEGLIGIBLE": "note",
    "UNKNOWN": "none",
}


def parse_severities(text: str) -> set[str]:
    wanted = {s.strip().upper() for s in text.split(",") if s.strip()}
    bad = wanted - set(SEVERITIES)
    if bad:
        raise InvalidArgument(
            f"unknown severity {', '.join(sorted(bad))}: use {','.join(SEVERITIES)}"
        )
    return wanted


def read_ignorefile(path: Path) -> set[str]:
    """IDs to ignore, one per line (``.trivyignore``): ``#`` comments, anything after a space."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidArgument(f"cannot read the ignore file {path}: {exc.strerror}") from exc
    return {
        line.split()[0] for line in text.splitlines() if line.strip() and not line.startswith("#")
    }


@dataclass
class Report:
    inventory: Inventory
    findings: list[Finding] = field(default_factory=list)

    def filtered(
        self, severities: set[str] | None, ignore: set[str], ignore_unfixed: bool
    ) -> Report:
        kept = []
        for f in self.findings:
            if severities and f.severity not in severities:
                continue
            if ignore & {f.advisory.id, *f.aliases}:
                continue
            if ignore_unfixed and not f.fixed_version:
                continue
            kept.append(f)
        order = {s: i for i, s in enumerate(SEVERITIES)}
        kept.sort(key=lambda f: (f.package.name, -order.get(f.severity, 0), f.advisory.id))
        return Report(self.inventory, kept)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(SEVERITIES, 0)
        for f in self.findings:
            out[f.severity] = out.get(f.severity, 0) + 1
        return out

    def _layer(self, f: Finding) -> dict[str, str] | None:
        layer = f.package.layer
        if not layer:
            return None
        step = self.inventory.steps.get(layer)
        return {
            "DiffID": layer,
            "Digest": step.digest if step else "",
            "CreatedBy": step.created_by if step else "",
        }

    def finding_json(self, f: Finding) -> dict[str, Any]:
        out: dict[str, Any] = {
            "VulnerabilityID": f.advisory.id,
            "Aliases": f.aliases,
            "PkgName": f.package.name,
            "PkgType": f.package.type,
            "PkgPath": f.package.locations[0].path if f.package.locations else "",
            "PURL": f.package.purl,
            "InstalledVersion": f.package.version,
            "FixedVersion": f.fixed_version,
            "Status": f.status,
            "Severity": f.severity,
            "SeveritySource": f.severity_source,
            "Title": f.advisory.summary or f.advisory.details.split("\n")[0][:200],
            "Description": f.advisory.details,
            "References": f.advisory.references,
            "DataSource": f.advisory.source,
        }
        if f.advisory.cvss_vector:
            out["CVSS"] = {
                "Vector": f.advisory.cvss_vector,
                "Score": base_score(f.advisory.cvss_vector),
            }
        if layer := self._layer(f):
            out["Layer"] = layer
        return out

    def to_json(self) -> dict[str, Any]:
        src = self.inventory.source
        distro = self.inventory.distro
        return {
            "SchemaVersion": 1,
            "ArtifactName": src.name,
            "ArtifactType": src.kind,
            "Metadata": {
                "OS": None if distro is None else {"Family": distro.id, "Name": distro.version_id},
                "ImageID": src.image_id or None,
                "ManifestDigest": src.manifest_digest or None,
            },
            "Summary": self.counts(),
            "Results": [self.finding_json(f) for f in self.findings],
        }

    def table(self) -> str:
        counts = self.counts()
        shown = [
            s
            for s in reversed(SEVERITIES)
            if counts[s] or s in ("LOW", "MEDIUM", "HIGH", "CRITICAL")
        ]
        lines = [
            f"{self.inventory.source.name}"
            + (
                f" ({self.inventory.distro.id} {self.inventory.distro.version_id})"
                if self.inventory.distro
                else ""
            ),
            f"Total: {len(self.findings)} ("
            + ", ".join(f"{s}: {counts[s]}" for s in reversed(shown))
            + ")",
            "",
        ]
        rows = [("LIBRARY", "VULNERABILITY", "SEVERITY", "STATUS", "INSTALLED", "FIXED", "TITLE")]
        for f in self.findings:
            title = (f.advisory.summary or f.advisory.details.split("\n")[0])[:60]
            rows.append(
                (
                    f.package.name,
                    f.advisory.id,
                    f.severity,
                    f.status,
                    f.package.version,
                    f.fixed_version,
                    title,
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines += [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ]
        return "\n".join(lines) + "\n"

    def sarif(self) -> dict[str, Any]:
        rules: dict[str, dict[str, Any]] = {}
        results = []
        for f in self.findings:
            rid = f.advisory.id
            if rid not in rules:
                rule: dict[str, Any] = {
                    "id": rid,
                    "shortDescription": {"text": (f.advisory.summary or rid)[:200]},
                    "fullDescription": {"text": f.advisory.details or rid},
                    "properties": {
                        "security-severity": _score(f),
                        "tags": ["vulnerability", f.severity],
                    },
                }
                if f.advisory.references:
                    rule["helpUri"] = f.advisory.references[0]
                rules[rid] = rule
            where = f.package.locations[0].path.lstrip("/") if f.package.locations else "."
            results.append(
                {
                    "ruleId": rid,
                    "ruleIndex": list(rules).index(rid),
                    "level": _SARIF_LEVEL.get(f.severity, "none"),
                    "message": {
                        "text": f"Package: {f.package.name}\nInstalled Version: "
                        f"{f.package.version}\nVulnerability {rid}\nSeverity: {f.severity}\n"
                        f"Fixed Version: {f.fixed_version or 'none'}"
                    },
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": where}}}],
                }
            )
        return {
            "version": "2.1.0",
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "dockyard",
                            "version": __version__,
                            "informationUri": "https://github.com/dockyard",
                            "rules": list(rules.values()),
                        }
                    },
                    "results": results,
                }
            ],
        }

    def cyclonedx(self) -> dict[str, Any]:
        vulns: dict[str, dict[str, Any]] = {}
        for f in self.findings:
            v = vulns.setdefault(
                f.advisory.id,
                {
                    "bom-ref": f"vuln:{f.advisory.id}",
                    "id": f.advisory.id,
                    "source": {"name": f.advisory.source},
                    "ratings": [_rating(f)],
                    "description": f.advisory.details or f.advisory.summary,
                    "affects": [],
                },
            )
            v["affects"].append({"ref": component_ref(f.package)})
            if f.fixed_version:
                v["recommendation"] = f"Upgrade {f.package.name} to {f.fixed_version}"
        return cyclonedx_bom(self.inventory, vulnerabilities=list(vulns.values()))

    def render(self, fmt: str) -> str:
        if fmt == "table":
            return self.table()
        if fmt == "json":
            return json.dumps(self.to_json(), indent=2) + "\n"
        if fmt == "sarif":
            return json.dumps(self.sarif(), indent=2) + "\n"
        if fmt == "cyclonedx":
            return json.dumps(self.cyclonedx(), indent=2) + "\n"
        raise InvalidArgument(f"unknown report format {fmt!r}: use {', '.join(REPORT_FORMATS)}")


def _score(f: Finding) -> str:
    if f.advisory.cvss_vector:
        return f"{base_score(f.advisory.cvss_vector):.1f}"
    return {"CRITICAL": "9.5", "HIGH": "8.0", "MEDIUM": "5.5", "LOW": "2.0"}.get(f.severity, "0.0")


def _rating(f: Finding) -> dict[str, Any]:
    sev = {"NEGLIGIBLE": "info", "UNKNOWN": "unknown"}.get(f.severity, f.severity.lower())
    out: dict[str, Any] = {"severity": sev}
    vector = f.advisory.cvss_vector
    if vector and f.severity_source == vector:
        out["score"] = base_score(vector)
        out["method"] = (
            "CVSSv4"
            if vector.startswith("CVSS:4")
            else ("CVSSv31" if vector.startswith("CVSS:3.1") else "CVSSv3")
        )
        out["vector"] = vector
    else:
        out["source"] = {"name": f.severity_source}
    return out
