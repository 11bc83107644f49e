"""JavaScript packages: ``node_modules/**/package.json`` and ``package-lock.json``."""

from __future__ import annotations

import json
from typing import Any

from dockyard.scan._filesystem import FileView
from dockyard.scan._globs import compile_globs
from dockyard.scan._package import Location, Package, purl
from dockyard.scan.catalog._base import Context

__all__ = ["NpmCataloger", "npm_purl"]

_MODULES = compile_globs(["**/node_modules/*/package.json", "**/node_modules/@*/*/package.json"])
_LOCKS = compile_globs(["**/package-lock.json"])


def npm_purl(name: str, version: str) -> str:
    if name.startswith("@") and "/" in name:
        scope, _, bare = name.partition("/")
        return purl("npm", bare, version, namespace=scope)
    return purl("npm", name, version)


def _licenses(doc: dict[str, Any]) -> list[str]:
    value = doc.get("license")
    if isinstance(value, str) and value:
        return [value]
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return [value["type"]]
    out = []
    for item in doc.get("licenses") or []:
        if isinstance(item, dict) and isinstance(item.get("type"), str):
            out.append(item["type"])
        elif isinstance(item, str):
            out.append(item)
    return out


def _load(view: FileView, path: str) -> dict[str, Any] | None:
    data = view.read(path)
    if data is None:
        return None
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


class NpmCataloger:
    name = "javascript-package-cataloger"
    globs = (
        "**/node_modules/*/package.json",
        "**/node_modules/@*/*/package.json",
        "**/package-lock.json",
    )

    def catalog(self, view: FileView, context: Context) -> list[Package]:
        out: dict[tuple[str, str], Package] = {}
        for path in view.glob(_MODULES):
            doc = _load(view, path)
            if doc is None:
                continue
            name, version = doc.get("name"), doc.get("version")
            if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
                continue
            entry = view.entries.get(path)
            location = Location(path, entry.layer if entry else None)
            if (name, version) in out:
                out[name, version].locations.append(location)
                continue
            out[name, version] = Package(
                name, version, "npm", npm_purl(name, version), _licenses(doc), [location]
            )
        for path in view.glob(_LOCKS):
            if "/node_modules/" in path:
                continue
            doc = _load(view, path)
            if doc is None:
                continue
            entry = view.entries.get(path)
            location = Location(path, entry.layer if entry else None)
            for key, info in (doc.get("packages") or {}).items():
                if not key or not isinstance(info, dict) or info.get("link"):
                    continue
                name = info.get("name") or key.rsplit("node_modules/", 1)[-1]
                version = info.get("version")
                if not isinstance(name, str) or not isinstance(version, str):
                    continue
                if (name, version) not in out:
                    lic = info.get("license")
                    out[name, version] = Package(
                        name,
                        version,
                        "npm",
                        npm_purl(name, version),
                        [lic] if isinstance(lic, str) else [],
                        [location],
                    )
        return list(out.values())
