"""Python distributions: ``*.dist-info/METADATA`` and ``*.egg-info`` (``PKG-INFO`` or a file)."""

from __future__ import annotations

import re
from email.parser import HeaderParser

from dockyard.scan._filesystem import FileView
from dockyard.scan._globs import compile_globs
from dockyard.scan._package import Location, Package, purl
from dockyard.scan.catalog._base import Context

__all__ = ["PythonCataloger", "normalize_name"]

_GLOBS = ("**/*.dist-info/METADATA", "**/*.egg-info/PKG-INFO", "**/*.egg-info")
_PATTERN = compile_globs(_GLOBS)
_CLASSIFIER = "License :: "


def normalize_name(name: str) -> str:
    """PEP 503 normalisation (the purl spec's pypi rule too)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _licenses(headers: dict[str, list[str]]) -> list[str]:
    if expr := headers.get("License-Expression"):
        return [expr[0].strip()]
    lic = (headers.get("License") or [""])[0].strip()
    if lic and "\n" not in lic and len(lic) < 100 and lic.upper() != "UNKNOWN":
        return [lic]
    found: list[str] = []
    for value in headers.get("Classifier", []):
        if value.startswith(_CLASSIFIER):
            last = value.split("::")[-1].strip()
            if last not in {"OSI Approved", "Other/Proprietary License"}:
                found.append(last)
    return found


def parse_metadata(text: str) -> dict[str, list[str]]:
    message = HeaderParser().parsestr(text, headersonly=True)
    headers: dict[str, list[str]] = {}
    for key, value in message.items():
        headers.setdefault(key, []).append(str(value))
    return headers


class PythonCataloger:
    name = "python-installed-package-cataloger"
    globs = _GLOBS

    def catalog(self, view: FileView, context: Context) -> list[Package]:
        out: list[Package] = []
        for path in view.glob(_PATTERN):
            data = view.read(path)
            if data is None:
                continue
            headers = parse_metadata(data.decode("utf-8", "replace"))
            name = (headers.get("Name") or [""])[0].strip()
            version = (headers.get("Version") or [""])[0].strip()
            if not name or not version:
                continue
            entry = view.entries.get(path)
            out.append(
                Package(
                    name,
                    version,
                    "python",
                    purl("pypi", normalize_name(name), version),
                    licenses=_licenses(headers),
                    locations=[Location(path, entry.layer if entry else None)],
                )
            )
        return out
