"""Where ``dockyard db update`` gets advisories: the public feeds, one :class:`Feed` each.

* OSV per-ecosystem exports: ``https://osv-vulnerabilities.storage.googleapis.com/<Ecosystem>/all.zip``
* the Debian security tracker: ``https://security-tracker.debian.org/tracker/data/json``
* Alpine secdb: ``https://secdb.alpinelinux.org/v<ver>/main.json`` and ``community.json``

A mirror keeps the feeds' own paths under its base URL, so one web server can serve all three:
``<mirror>/PyPI/all.zip``, ``<mirror>/tracker/data/json``, ``<mirror>/v3.20/main.json``.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dockyard.errors import InvalidArgument

__all__ = [
    "ALPINE_VERSIONS",
    "BASES",
    "ECOSYSTEMS",
    "SOURCES",
    "Feed",
    "parse_mirrors",
    "plan_feeds",
]

SOURCES = ("osv", "debian", "alpine")
BASES = {
    "osv": "https://osv-vulnerabilities.storage.googleapis.com",
    "debian": "https://security-tracker.debian.org",
    "alpine": "https://secdb.alpinelinux.org",
}
#: the OSV ecosystems whose packages dockyard's catalogers find
ECOSYSTEMS = ("PyPI", "Go", "crates.io", "npm", "Maven", "RubyGems")
#: the Alpine releases fetched by default (each has main.json and community.json)
ALPINE_VERSIONS = ("3.19", "3.20", "3.21", "3.22")

_ECOSYSTEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:+ _-]{0,63}")
_ALPINE = re.compile(r"(?:v?(\d+\.\d+)|(edge))")


@dataclass(frozen=True, slots=True)
class Feed:
    """One file to download: its source, its name in the database, its URL and its format."""

    source: str  # osv, debian or alpine
    name: str  # the database's source name, also the local file's name
    url: str
    expect: str  # "zip" or "json"


def _base(source: str, mirrors: Mapping[str, str]) -> str:
    base = mirrors.get(source) or mirrors.get("*") or BASES[source]
    return base.rstrip("/")


def parse_mirrors(values: Sequence[str]) -> dict[str, str]:
    """``--mirror URL`` (every source) or ``--mirror SOURCE=URL`` -> {source or "*": url}."""
    out: dict[str, str] = {}
    for value in values:
        source, sep, url = value.partition("=")
        if not sep or source not in SOURCES:
            source, url = "*", value
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidArgument(
                f"--mirror {value!r}: expected an http(s) URL, optionally as SOURCE=URL "
                f"with SOURCE one of {', '.join(SOURCES)}"
            )
        out[source] = url
    return out


def plan_feeds(
    sources: Sequence[str] = SOURCES,
    ecosystems: Sequence[str] = ECOSYSTEMS,
    alpine_versions: Sequence[str] = ALPINE_VERSIONS,
    mirrors: Mapping[str, str] | None = None,
) -> list[Feed]:
    """The feeds to fetch, in order; names and versions are checked before anything is fetched."""
    mirrors = mirrors or {}
    feeds: list[Feed] = []
    for source in dict.fromkeys(sources):
        if source not in SOURCES:
            raise InvalidArgument(
                f"unknown --source {source!r}: expected one of {', '.join(SOURCES)}"
            )
        base = _base(source, mirrors)
        if source == "osv":
            for eco in dict.fromkeys(ecosystems):
                if not _ECOSYSTEM.fullmatch(eco) or ".." in eco:
                    raise InvalidArgument(
                        f"--ecosystem {eco!r} is not an OSV ecosystem name (e.g. PyPI, Go, npm)"
                    )
                url = f"{base}/{urllib.parse.quote(eco)}/all.zip"
                feeds.append(Feed("osv", f"osv-{eco.replace(':', '-')}", url, "zip"))
        elif source == "debian":
            feeds.append(Feed("debian", "debian-tracker", f"{base}/tracker/data/json", "json"))
        else:
            for version in dict.fromkeys(alpine_versions):
                match = _ALPINE.fullmatch(version)
                if not match:
                    raise InvalidArgument(
                        f"--alpine {version!r}: expected a release like 3.20 (or edge)"
                    )
                release = match.group(2) or f"v{match.group(1)}"
                for repo in ("main", "community"):
                    feeds.append(
                        Feed(
                            "alpine",
                            f"alpine-{release}-{repo}",
                            f"{base}/{release}/{repo}.json",
                            "json",
                        )
                    )
    return feeds
