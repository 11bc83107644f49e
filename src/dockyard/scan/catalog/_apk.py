"""Alpine packages: ``/lib/apk/db/installed``."""

from __future__ import annotations

from dockyard.scan._filesystem import FileView
from dockyard.scan._package import Location, Package, purl
from dockyard.scan.catalog._base import Context

__all__ = ["ApkCataloger", "parse_apk_installed"]

_DB = "/lib/apk/db/installed"


def parse_apk_installed(text: str) -> list[dict[str, str]]:
    """Records of ``X:value`` lines separated by blank lines (apk's installed database)."""
    records: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                records.append(current)
            current = {}
            continue
        if len(line) >= 2 and line[1] == ":":
            key = line[0]
            if key not in current:  # file lists (F:, R:) repeat; the header fields come first
                current[key] = line[2:]
    if current:
        records.append(current)
    return records


class ApkCataloger:
    name = "apk-db-cataloger"
    globs = (_DB,)

    def catalog(self, view: FileView, context: Context) -> list[Package]:
        data = view.read(_DB)
        if data is None:
            return []
        entry = view.entries.get(_DB)
        location = Location(_DB, entry.layer if entry else None)
        distro = context.distro
        out = []
        for rec in parse_apk_installed(data.decode("utf-8", "replace")):
            name, version = rec.get("P", ""), rec.get("V", "")
            if not name or not version:
                continue
            origin = rec.get("o", "")
            qualifiers = {"arch": rec.get("A", "")}
            if distro is not None:
                qualifiers["distro"] = f"{distro.id}-{distro.version_id}"
            if origin and origin != name:
                qualifiers["upstream"] = origin
            licenses = rec.get("L", "").split()
            out.append(
                Package(
                    name,
                    version,
                    "apk",
                    purl(
                        "apk",
                        name,
                        version,
                        namespace=distro.id if distro else "alpine",
                        qualifiers=qualifiers,
                    ),
                    licenses=[" ".join(licenses)] if licenses else [],
                    locations=[location],
                    arch=rec.get("A", ""),
                    source_name=origin or name,
                    source_version=version,
                )
            )
        return out
