"""Which advisories affect a package: OSV range evaluation with the ecosystem's own ordering."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cmp_to_key

from dockyard.scan._package import Distro, Package
from dockyard.scan._vulndb import Advisory, Affected, VulnDB
from dockyard.scan.catalog._python import normalize_name
from dockyard.scan.versions import comparator

__all__ = ["Finding", "in_ranges", "match_inventory", "package_ecosystem"]

Compare = Callable[[str, str], int]


@dataclass
class Finding:
    advisory: Advisory
    package: Package
    fixed_version: str  # "" when no fix is known
    status: str  # fixed (a fix exists), affected (no fix yet)
    severity: str
    severity_source: str  # the distribution, or the advisory's CVSS vector
    ecosystem: str
    aliases: list[str] = field(default_factory=list)


def package_ecosystem(pkg: Package, distro: Distro | None) -> tuple[str, str, str] | None:
    """(ecosystem key, package name, version to compare) for the database lookup."""
    if pkg.type == "deb" and distro is not None:
        release = distro.version_id or "unstable"
        family = "ubuntu" if distro.id == "ubuntu" else "debian"
        return f"{family}:{release}", pkg.source_name or pkg.name, pkg.version
    if pkg.type == "apk" and distro is not None:
        release = ".".join(distro.version_id.split(".")[:2])
        return f"alpine:{release}", pkg.source_name or pkg.name, pkg.version
    if pkg.type == "rpm" and distro is not None:
        return (
            f"{distro.id}:{distro.version_id.split('.')[0]}",
            pkg.source_name or pkg.name,
            pkg.version,
        )
    simple = {"python": "pypi", "npm": "npm", "rust-crate": "crates.io", "gem": "rubygems"}
    if pkg.type in simple:
        eco = simple[pkg.type]
        return eco, normalize_name(pkg.name) if eco == "pypi" else pkg.name, pkg.version
    if pkg.type == "go-module":
        version = pkg.version if pkg.name == "stdlib" else pkg.version.removeprefix("v")
        return "go", pkg.name, version
    if pkg.type == "binary" and pkg.name == "go":
        # the Go toolchain found by its version string: its vulnerabilities are the stdlib's
        return "go", "stdlib", pkg.version
    if pkg.type == "java-archive" and pkg.metadata.get("groupId"):
        return "maven", f"{pkg.metadata['groupId']}:{pkg.name}", pkg.version
    return None


def _safe(cmp: Compare, a: str, b: str) -> int | None:
    try:
        return cmp(a, b)
    except (ValueError, TypeError, AssertionError):
        return None


def in_ranges(version: str, affected: Affected, cmp: Compare) -> tuple[bool, str]:
    """(affected?, the smallest fixed version above ``version``) per the OSV evaluation rules."""
    hit = version in affected.versions
    fixes: list[str] = []
    for rng in affected.ranges:
        events = rng.get("events") or []

        def order(ev: dict[str, str]) -> str:
            return next(iter(ev.values()))

        def cmp_events(x: dict[str, str], y: dict[str, str]) -> int:
            vx, vy = order(x), order(y)
            if vx == "0" or vy == "0":
                return (vx != "0") - (vy != "0")
            return _safe(cmp, vx, vy) or 0

        state = False
        for ev in sorted(events, key=cmp_to_key(cmp_events)):
            if "introduced" in ev:
                c = 1 if ev["introduced"] == "0" else _safe(cmp, version, ev["introduced"])
                if c is not None and c >= 0:
                    state = True
            elif "fixed" in ev:
                c = _safe(cmp, version, ev["fixed"])
                if c is not None and c >= 0:
                    state = False
                elif c is not None:
                    fixes.append(ev["fixed"])
            elif "last_affected" in ev:
                c = _safe(cmp, version, ev["last_affected"])
                if c is not None and c > 0:
                    state = False
            elif "limit" in ev:
                c = _safe(cmp, version, ev["limit"])
                if c is not None and c >= 0:
                    state = False
        hit = hit or state
    fixed = ""
    for f in fixes:
        if not fixed or (_safe(cmp, f, fixed) or 0) < 0:
            fixed = f
    return hit, fixed


def match_inventory(db: VulnDB, packages: list[Package], distro: Distro | None) -> list[Finding]:
    findings: list[Finding] = []
    cache: dict[tuple[str, str], list[tuple[Advisory, Affected]]] = {}
    for pkg in packages:
        key = package_ecosystem(pkg, distro)
        if key is None:
            continue
        eco, name, version = key
        rows = cache.get((eco, name))
        if rows is None:
            rows = cache[eco, name] = db.lookup(eco, name)
        if not rows:
            continue
        cmp = comparator(eco)
        seen: set[str] = set()
        for adv, aff in rows:
            hit, fixed = in_ranges(version, aff, cmp)
            if not hit or adv.id in seen:
                continue
            seen.add(adv.id)
            if aff.severity and aff.severity != "UNKNOWN":
                severity, source = aff.severity, eco.split(":")[0]
            elif adv.severity:
                severity, source = adv.severity, adv.cvss_vector or "advisory"
            else:
                severity, source = aff.severity or "UNKNOWN", eco.split(":")[0]
            findings.append(
                Finding(
                    adv,
                    pkg,
                    fixed,
                    "fixed" if fixed else "affected",
                    severity,
                    source,
                    eco,
                    adv.aliases,
                )
            )
    return findings
