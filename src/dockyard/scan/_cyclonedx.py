"""CycloneDX 1.5 JSON BOMs (cyclonedx.org/docs/1.5/json)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from dockyard import __version__
from dockyard.scan._inventory import Inventory
from dockyard.scan._licenses import spdx_id
from dockyard.scan._package import Package

__all__ = ["component_ref", "cyclonedx_bom"]


def component_ref(pkg: Package) -> str:
    return f"{pkg.purl or pkg.name + '@' + pkg.version}#{pkg.type}:{pkg.locations[0].path if pkg.locations else ''}"


def _component(pkg: Package) -> dict[str, Any]:
    out: dict[str, Any] = {
        "bom-ref": component_ref(pkg),
        "type": "library",
        "name": pkg.name,
        "version": pkg.version,
    }
    licenses = []
    for lic in pkg.licenses:
        ident = spdx_id(lic)
        licenses.append({"license": {"id": ident} if ident else {"name": lic}})
    if licenses:
        out["licenses"] = licenses
    if pkg.purl:
        out["purl"] = pkg.purl
    if pkg.cpes:
        out["cpe"] = pkg.cpes[0]
    props = [{"name": "dockyard:package:type", "value": pkg.type}]
    for i, loc in enumerate(pkg.locations):
        props.append({"name": f"dockyard:location:{i}:path", "value": loc.path})
        if loc.layer:
            props.append({"name": f"dockyard:location:{i}:layerID", "value": loc.layer})
    if pkg.source_name and pkg.source_name != pkg.name:
        props.append({"name": "dockyard:package:sourceName", "value": pkg.source_name})
    out["properties"] = props
    return out


def cyclonedx_bom(
    inventory: Inventory,
    *,
    now: datetime | None = None,
    vulnerabilities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    source = inventory.source
    subject: dict[str, Any] = {
        "bom-ref": "subject",
        "type": "container" if source.kind != "directory" else "file",
        "name": source.name,
    }
    if source.manifest_digest:
        subject["version"] = source.manifest_digest
    components: list[dict[str, Any]] = []
    seen: set[str] = set()
    if inventory.distro is not None:
        d = inventory.distro
        components.append(
            {
                "bom-ref": f"os:{d.id}-{d.version_id}",
                "type": "operating-system",
                "name": d.id,
                "version": d.version_id,
                "description": d.pretty_name,
            }
        )
    for pkg in inventory.packages:
        comp = _component(pkg)
        if comp["bom-ref"] in seen:
            continue
        seen.add(comp["bom-ref"])
        components.append(comp)
    bom: dict[str, Any] = {
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {
                "components": [{"type": "application", "name": "dockyard", "version": __version__}]
            },
            "component": subject,
        },
        "components": components,
        "dependencies": [{"ref": "subject", "dependsOn": [c["bom-ref"] for c in components]}],
    }
    if vulnerabilities is not None:
        bom["vulnerabilities"] = vulnerabilities
    return bom
