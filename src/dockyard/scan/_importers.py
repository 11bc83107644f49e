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


def osv_advisory(doc: dict[str, Any], source: str, *, where: str | None = None) -> Advisory:
    """One OSV record; errors name ``where`` (the file, or ``zip:member``), else ``source``."""
    if not isinstance(doc.get("id"), str):
        raise InvalidArgument(f"{where or source}: not an OSV record (no id)")
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


#: the largest zip member or file read whole (the real OSV export's biggest record is < 1 MiB)
MAX_RECORD_BYTES = 64 << 20
#: the largest feed file read whole (the Debian tracker's JSON is ~100 MiB and growing)
MAX_FILE_BYTES = 1 << 30


def _json(data: bytes, where: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise InvalidArgument(f"{where}: not valid JSON: {exc}") from exc


def _zip_docs(path: Path) -> Iterator[tuple[str, Any]]:
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir() or not info.filename.endswith(".json"):
                    continue
                where = f"{path}:{info.filename}"
                if info.file_size > MAX_RECORD_BYTES:
                    raise InvalidArgument(
                        f"{where}: {info.file_size:,} bytes is more than an OSV record can be"
                    )
                with zf.open(info) as member:
                    data = member.read(MAX_RECORD_BYTES + 1)
                if len(data) > MAX_RECORD_BYTES:
                    raise InvalidArgument(f"{where}: larger than its zip entry says")
                yield where, _json(data, where)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise InvalidArgument(f"{path}: not a readable zip file: {exc}") from exc


def _osv_records(where: str, doc: Any, source: str) -> list[Advisory]:
    items = doc if isinstance(doc, list) else [doc]
    out = []
    for index, item in enumerate(items):
        here = f"{where}[{index}]" if isinstance(doc, list) else where
        if not isinstance(item, dict):
            raise InvalidArgument(f"{here}: not an OSV record (not a JSON object)")
        try:
            out.append(osv_advisory(item, source, where=here))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidArgument(f"{here}: not an OSV record: {exc!r}") from exc
    return out


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


def _alpine_secdb(doc: dict[str, Any], source: str, where: str) -> Iterator[Advisory]:
    release = str(doc.get("distroversion", "")).removeprefix("v")
    if not release:
        raise InvalidArgument(f"{where}: Alpine secdb file without distroversion")
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


def _is_debian_tracker(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and "id" not in doc
        and bool(doc)
        and all(isinstance(v, dict) for v in doc.values())
    )


def _is_alpine_secdb(doc: Any) -> bool:
    return isinstance(doc, dict) and "packages" in doc and "distroversion" in doc


def _read_file(path: Path, source: str) -> tuple[str, list[Advisory]]:
    """(kind, advisories) of one file; errors name the file and what was wrong with it."""
    if path.stat().st_size > MAX_FILE_BYTES and not zipfile.is_zipfile(path):
        raise InvalidArgument(
            f"{path}: {path.stat().st_size:,} bytes is more than an advisory file can be "
            f"({MAX_FILE_BYTES >> 20} MiB)"
        )
    if path.suffix.lower() in {".yaml", ".yml"}:
        try:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            doc = yaml.load(path.read_bytes(), Loader=loader)
        except yaml.YAMLError as exc:
            raise InvalidArgument(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(doc, dict) or "packages" not in doc:
            raise InvalidArgument(f"{path}: not an Alpine secdb file (no packages:)")
        return "alpine-secdb", list(_alpine_secdb(doc, source, str(path)))
    if zipfile.is_zipfile(path):
        advisories: list[Advisory] = []
        for where, doc in _zip_docs(path):
            advisories.extend(_osv_records(where, doc, source))
        return "osv", advisories
    doc = _json(path.read_bytes(), str(path))
    if _is_alpine_secdb(doc):
        return "alpine-secdb", list(_alpine_secdb(doc, source, str(path)))
    if _is_debian_tracker(doc):
        return "debian-tracker", list(_debian_tracker(doc, source))
    return "osv", _osv_records(str(path), doc, source)


def _directory_files(path: Path) -> list[Path]:
    suffixes = {".json", ".yaml", ".yml", ".zip"}
    return [f for f in sorted(path.rglob("*")) if f.is_file() and f.suffix.lower() in suffixes]


def read_advisories(path: Path) -> tuple[str, list[Advisory]]:
    """(kind, advisories) of one file or directory, each file's format recognised from its
    content. A directory may mix formats (its kind is then e.g. ``debian-tracker+osv``); an
    unreadable file stops the import with an error naming that file and what was wrong."""
    if not path.exists():
        raise InvalidArgument(f"{path}: no such file or directory")
    source = path.name
    if not path.is_dir():
        return _read_file(path, source)
    kinds: set[str] = set()
    advisories: list[Advisory] = []
    for file in _directory_files(path):
        kind, found = _read_file(file, source)
        kinds.add(kind)
        advisories.extend(found)
    if not kinds:
        raise InvalidArgument(f"{path}: no advisory files in it (expected *.json, *.yaml or *.zip)")
    return "+".join(sorted(kinds)), advisories
