"""Version ordering per ecosystem, each from its own specification."""

from __future__ import annotations

from collections.abc import Callable

from packaging.version import Version

from dockyard.scan.versions._apk import compare_apk
from dockyard.scan.versions._dpkg import compare_dpkg
from dockyard.scan.versions._maven import compare_maven
from dockyard.scan.versions._rpm import compare_rpm
from dockyard.scan.versions._semver import compare_semver

__all__ = [
    "comparator",
    "compare_apk",
    "compare_dpkg",
    "compare_maven",
    "compare_pep440",
    "compare_rpm",
    "compare_semver",
]


def compare_pep440(a: str, b: str) -> int:
    va, vb = Version(a), Version(b)
    return -1 if va < vb else (1 if va > vb else 0)


_BY_ECOSYSTEM: dict[str, Callable[[str, str], int]] = {
    "debian": compare_dpkg,
    "ubuntu": compare_dpkg,
    "alpine": compare_apk,
    "rpm": compare_rpm,
    "redhat": compare_rpm,
    "pypi": compare_pep440,
    "go": compare_semver,
    "npm": compare_semver,
    "crates.io": compare_semver,
    "maven": compare_maven,
    "rubygems": compare_pep440,
}


def comparator(ecosystem: str) -> Callable[[str, str], int]:
    """The comparison for an ecosystem key (``pypi``, ``debian:12`` → debian, …)."""
    base = ecosystem.split(":", 1)[0].lower()
    try:
        return _BY_ECOSYSTEM[base]
    except KeyError:
        return compare_semver
