"""SPDX 2.3 JSON documents (spdx.github.io/spdx-spec/v2.3)."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from dockyard import __version__
from dockyard.scan._inventory import Inventory
from dockyard.scan._licenses import license_ref, spdx_id
from dockyard.scan._package import Package

__all__ = ["spdx_document"]

_NAMESPACE = "https://dockyard.invalid/spdx"


def _id(kind: str, text: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9.\-]+", "-", text).strip("-")[:60]
    return f"SPDXRef-{kind}-{safe}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def _declared(pkg: Package, extracted: dict[str, str]) -> str:
    terms = []
    for lic in pkg.licenses:
        ident = spdx_id(lic)
        if ident is None:
            ident = license_ref(lic)
            extracted[ident] = lic
        if ident not in terms:
            terms.append(ident)
    if not terms:
        return "NOASSERTION"
    return " AND ".join(terms)


def _package(pkg: Package, extracted: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": pkg.name,
        "SPDXID": _id("Package", f"{pkg.type}-{pkg.name}-{pkg.version}-{pkg.purl}"),
        "versionInfo": pkg.version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": _declared(pkg, extracted),
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "LIBRARY" if pkg.type not in {"deb", "apk", "rpm"} else "INSTALL",
    }
    where = ", ".join(
        f"{loc.path}" + (f" (layer {loc.layer})" if loc.layer else "") for loc in pkg.locations
    )
    if where:
        out["sourceInfo"] = f"{pkg.type} package found in {where}"
    if pkg.purl:
        out["externalRefs"] = [
            {
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": pkg.purl,
            }
        ]
    if pkg.cpes:
        out.setdefault("externalRefs", []).extend(
            {"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": c}
            for c in pkg.cpes
        )
    if pkg.source_name and pkg.source_name != pkg.name:
        out["comment"] = f"source package: {pkg.source_name} {pkg.source_version}"
    return out


def spdx_document(inventory: Inventory, *, now: datetime | None = None) -> dict[str, Any]:
    """The inventory as an SPDX 2.3 document: the scanned image/directory CONTAINS each package."""
    now = now or datetime.now(UTC)
    source = inventory.source
    name = source.name
    root_id = _id("Image" if source.kind != "directory" else "Directory", name)
    root: dict[str, Any] = {
        "name": name,
        "SPDXID": root_id,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "CONTAINER" if source.kind != "directory" else "SOURCE",
    }
    if source.manifest_digest:
        root["versionInfo"] = source.manifest_digest
    extracted: dict[str, str] = {}
    packages = [_package(p, extracted) for p in inventory.packages]
    if inventory.distro is not None:
        d = inventory.distro
        os_pkg = {
            "name": d.id,
            "SPDXID": _id("OperatingSystem", f"{d.id}-{d.version_id}"),
            "versionInfo": d.version_id or "NOASSERTION",
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "OPERATING-SYSTEM",
            "description": d.pretty_name or d.id,
        }
        packages.insert(0, os_pkg)
    seen: set[str] = set()
    unique = []
    for pkg in packages:
        if pkg["SPDXID"] not in seen:
            seen.add(pkg["SPDXID"])
            unique.append(pkg)
    relationships = [
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": root_id,
        }
    ] + [
        {
            "spdxElementId": root_id,
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": p["SPDXID"],
        }
        for p in unique
    ]
    doc: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": f"{_NAMESPACE}/{re.sub(r'[^A-Za-z0-9.-]+', '-', name)}-{uuid.uuid4()}",
        "creationInfo": {
            "created": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "creators": [f"Tool: dockyard-{__version__}"],
            "licenseListVersion": "3.23",
        },
        "packages": [root, *unique],
        "relationships": relationships,
    }
    if extracted:
        doc["hasExtractedLicensingInfos"] = [
            {"licenseId": ident, "extractedText": text, "name": text}
            for ident, text in sorted(extracted.items())
        ]
    return doc
