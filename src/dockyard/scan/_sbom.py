"""``dockyard sbom`` output: a table, dockyard JSON, SPDX 2.3 JSON or CycloneDX 1.5 JSON."""

from __future__ import annotations

import json
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.scan._cyclonedx import cyclonedx_bom
from dockyard.scan._inventory import Inventory
from dockyard.scan._package import Package
from dockyard.scan._spdx import spdx_document

__all__ = ["SBOM_FORMATS", "inventory_json", "package_json", "render_sbom"]

SBOM_FORMATS = ("table", "json", "spdx-json", "cyclonedx-json")


def package_json(pkg: Package) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": pkg.name,
        "version": pkg.version,
        "type": pkg.type,
        "purl": pkg.purl,
        "licenses": pkg.licenses,
        "layer": pkg.layer,
        "locations": [{"path": loc.path, "layer": loc.layer} for loc in pkg.locations],
    }
    if pkg.arch:
        out["arch"] = pkg.arch
    if pkg.source_name:
        out["source"] = {"name": pkg.source_name, "version": pkg.source_version}
    if pkg.metadata:
        out["metadata"] = pkg.metadata
    if pkg.cpes:
        out["cpes"] = pkg.cpes
    return out


def inventory_json(inventory: Inventory) -> dict[str, Any]:
    source = inventory.source
    distro = inventory.distro
    return {
        "source": {
            "type": source.kind,
            "name": source.name,
            "manifestDigest": source.manifest_digest or None,
            "imageID": source.image_id or None,
            "layers": [
                {"diffID": s.diff_id, "digest": s.digest or None, "createdBy": s.created_by}
                for s in source.steps
            ],
        },
        "distro": None
        if distro is None
        else {
            "id": distro.id,
            "versionID": distro.version_id,
            "codename": distro.version_codename,
            "prettyName": distro.pretty_name,
        },
        "packages": [package_json(p) for p in inventory.packages],
    }


def _table(inventory: Inventory) -> str:
    rows = [("NAME", "VERSION", "TYPE")] + [(p.name, p.version, p.type) for p in inventory.packages]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if not inventory.packages:
        lines.append("No packages discovered")
    return "\n".join(lines) + "\n"


def render_sbom(inventory: Inventory, fmt: str) -> str:
    if fmt == "table":
        return _table(inventory)
    if fmt == "json":
        doc = inventory_json(inventory)
    elif fmt == "spdx-json":
        doc = spdx_document(inventory)
    elif fmt == "cyclonedx-json":
        doc = cyclonedx_bom(inventory)
    else:
        raise InvalidArgument(f"unknown SBOM format {fmt!r}: use one of {', '.join(SBOM_FORMATS)}")
    return json.dumps(doc, indent=2) + "\n"
