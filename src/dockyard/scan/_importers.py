"""Reading advisories from OSV JSON (files, directories, zips), the Debian security tracker's
JSON, and Alpine secdb YAML into :class:`~dockyard.scan._vulndb.Advisory` records."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from dockyard.errors import InvalidArgument
from dockyard.scan._cvss import base_score, rating
from dockyard.scan._vulndb import Advisory, Affected
from dockyard.scan.catalog._python import normalize_name

__all__ = ["DEBIAN_RELEASES", "ecosystem_key", "read_advisories"]

#: Debian codename -> VERSION_ID in os-release.
DEBIAN_RELEASES = {
    "jessie": "8",
    "stretch": "9",
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "forky": "14",
    "sid": "unstable",
}
_URGENCY = {
    "unimportant": "NEGLIGIBLE",
    "low": "LOW",
    "medium": "MEDIUM",
    "high": "HIGH",
    "not yet assigned": "UNKNOWN",
    "end-of-life": "UNKNOWN",
}


def ecosystem_key(ecosystem: str) -> str:
    """OSV ecosystem -> lowercase key; ``Debian:12`` -> ``debian:12``, ``Alpine:v3.18`` ->
    ``alpine:3.18``."""
    name, _, release = ecosystem.partition(":")
    name = name.lower()
    if name == "alpine" and release:
        release = release.removeprefix("v")
    return f"{name}:{release}" if release else name


def package_key(ecosystem: str, name: str) -> str:
    return normalize_name(name) if ecosystem == "pypi" else name


def _osv_severity(doc: dict[str, Any]) -> tuple[str | None, str | None]:
    vectors = {s.get("type"): s.get("score") for s in doc.get("severity") or []}
    for kind in ("CVSS_V4", "CVSS_V3"):
        vector = vectors.get(kind)
        if isinstance(vector, str):
            try:
                return rating(base_score(vector)), vector
            except InvalidArgument:
                continue
    db = doc.get("database_specific") or {}
    sev = db.get("severity") if isinstance(db, dict) else None
    if isinstance(sev, str) and sev.upper() in {"LOW", "MODERATE", "MEDIUM", "HIGH", "CRITICAL"}:
        return ("MEDIUM" if sev.upper() == "MODERATE" else sev.upper()), None
    return None, None


def osv_advisory(doc: dict[str, Any], source: str) -> Advisory:
    if not isinstance(doc.get("id"), str):
        raise InvalidArgument(f"{source}: not an OSV record (no id)")
    severity, vector = _osv_severity(doc)
    adv = Advisory(
        doc["id"],
        source,
        doc.get("summary") or "",
        doc.get("details") or "",
        severity,
        vector,
        list(doc.get("aliases") or []),
        [r["url"] for r in doc.get("references") or [] if isinstance(r, dict) and "url" in r],
        doc.get("modified"),
    )
    for aff in doc.get("affected") or []:
        pkg = aff.get("package") or {}
        eco, name = pkg.get("ecosystem"), pkg.get("name")
        if not isinstance(eco, str) or not isinstance(name, str):
            continue
        key = ecosystem_key(eco)
        ranges = [r for r in aff.get("ranges") or [] if r.get("type") in ("ECOSYSTEM", "SEMVER")]
        adv.affected.append(
            Affected(key, package_key(key, name), ranges, list(aff.get("versions") or []))
        )
    return adv


def _osv_docs(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    if path.is_dir():
        for file in sorted(path.rglob("*.json")):
            yield str(file), json.loads(file.read_bytes())
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.endswith(".json"):
                    yield f"{path}:{name}", json.loads(zf.read(name))
    else:
        doc = json.loads(path.read_bytes())
        for item in doc if isinstance(doc, list) else [doc]:
            yield str(path), item


def _debian_tracker(doc: dict[str, Any], source: str) -> Iterator[Advisory]:
    by_cve: dict[str, Advisory] = {}
    for package, cves in doc.items():
        if not isinstance(cves, dict):
            continue
        for cve, info in cves.items():
            adv = by_cve.setdefault(
                cve, Advisory(cve, source, "", (info or {}).get("description") or "")
            )
            for release, rel in ((info or {}).get("releases") or {}).items():
                version_id = DEBIAN_RELEASES.get(release)
                if version_id is None:
                    continue
                status = rel.get("status")
                fixed = rel.get("fixed_version")
                urgency = str(rel.get("urgency") or "").rstrip("*")
                sev = _URGENCY.get(urgency, "UNKNOWN")
                if status == "resolved" and fixed == "0":
                    continue  # never affected in this release
                if status == "resolved" and fixed:
                    aff = Affected(
                        f"debian:{version_id}",
                        package,
                        [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
                        severity=sev,
                    )
                elif status == "open":
                    aff = Affected(
                        f"debian:{version_id}",
                        package,
                        [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
                        status="unfixed",
                        severity=sev,
                    )
                else:
                    continue  # undetermined
                adv.affected.append(aff)
    yield from (a for a in by_cve.values() if a.affected)


def _alpine_secdb(doc: dict[str, Any], source: str) -> Iterator[Advisory]:
    release = str(doc.get("distroversion", "")).removeprefix("v")
    if not release:
        raise InvalidArgument(f"{source}: secdb file without distroversion")
    by_id: dict[str, Advisory] = {}
    for item in doc.get("packages") or []:
        pkg = (item or {}).get("pkg") or {}
        name = pkg.get("name")
        for fixed, ids in (pkg.get("secfixes") or {}).items():
            for ident in ids or []:
                ident = str(ident).split()[0]
                if str(fixed) == "0":
                    continue
                adv = by_id.setdefault(ident, Advisory(ident, source))
                adv.affected.append(
                    Affected(
                        f"alpine:{release}",
                        str(name),
                        [
                            {
                                "type": "ECOSYSTEM",
                                "events": [{"introduced": "0"}, {"fixed": str(fixed)}],
                            }
                        ],
                    )
                )
    yield from by_id.values()


def read_advisories(path: Path) -> tuple[str, list[Advisory]]:
    """(kind, advisories) of one file or directory, its format recognised from its content."""
    if not path.exists():
        raise InvalidArgument(f"{path}: no such file or directory")
    source = path.name
    if path.suffix in {".yaml", ".yml"}:
        doc = yaml.load(path.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        if not isinstance(doc, dict) or "packages" not in doc:
            raise InvalidArgument(f"{path}: not an Alpine secdb file (no packages:)")
        return "alpine-secdb", list(_alpine_secdb(doc, source))
    if path.is_file() and not zipfile.is_zipfile(path):
        try:
            doc = json.loads(path.read_bytes())
        except ValueError as exc:
            raise InvalidArgument(f"{path}: not JSON or YAML: {exc}") from exc
        if (
            isinstance(doc, dict)
            and "id" not in doc
            and all(isinstance(v, dict) for v in doc.values())
        ):
            return "debian-tracker", list(_debian_tracker(doc, source))
    try:
        return "osv", [osv_advisory(doc, source) for _, doc in _osv_docs(path)]
    except (ValueError, KeyError) as exc:
        raise InvalidArgument(f"{path}: not OSV JSON: {exc}") from exc
