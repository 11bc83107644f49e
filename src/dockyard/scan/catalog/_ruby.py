"""Ruby gems: installed ``specifications/*.gemspec`` files."""

from __future__ import annotations

import re

from dockyard.scan._filesystem import FileView
from dockyard.scan._globs import compile_globs
from dockyard.scan._package import Location, Package, purl
from dockyard.scan.catalog._base import Context

__all__ = ["GemspecCataloger"]

_PATTERN = compile_globs(["**/specifications/*.gemspec"])
_FIELD = re.compile(r"""\.(name|version|licenses?)\s*=\s*(.+)""")
_STRING = re.compile(r"""["']([^"']*)["']""")


class GemspecCataloger:
    name = "ruby-installed-gemspec-cataloger"
    globs = ("**/specifications/*.gemspec",)

    def catalog(self, view: FileView, context: Context) -> list[Package]:
        out = []
        for path in view.glob(_PATTERN):
            data = view.read(path)
            if data is None:
                continue
            fields: dict[str, list[str]] = {}
            for m in _FIELD.finditer(data.decode("utf-8", "replace")):
                key = m.group(1)
                if key not in fields:
                    fields[key] = _STRING.findall(m.group(2))
            name = (fields.get("name") or [""])[0]
            version = (fields.get("version") or [""])[0]
            if not name or not version:
                continue
            licenses = fields.get("licenses") or fields.get("license") or []
            entry = view.entries.get(path)
            out.append(
                Package(
                    name,
                    version,
                    "gem",
                    purl("gem", name, version),
                    licenses,
                    [Location(path, entry.layer if entry else None)],
                )
            )
        return out
