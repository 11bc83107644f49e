"""Debian packages: ``/var/lib/dpkg/status`` and distroless ``/var/lib/dpkg/status.d/*``."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockyard.scan._filesystem import FileView
from dockyard.scan._globs import compile_globs
from dockyard.scan._package import Distro, Location, Package, purl
from dockyard.scan.catalog._base import Context

__all__ = ["DpkgCataloger", "iter_control", "parse_control"]

_STATUS = "/var/lib/dpkg/status"
_STATUS_D = compile_globs(["/var/lib/dpkg/status.d/*"])
_LICENSE = re.compile(rb"^License:[ \t]*(\S+)", re.MULTILINE)
_COMMON = re.compile(rb"/usr/share/common-licenses/([0-9A-Za-z_.+-]+[0-9A-Za-z+])")


def parse_control(text: str) -> list[dict[str, str]]:
    """RFC 822-style paragraphs (deb-control(5)); continuation lines are joined with newlines."""
    return list(iter_control(text))


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` (``\n`` or ``\r\n``), one at a time."""
    start, end = 0, len(text)
    while start < end:
        stop = text.find("\n", start)
        if stop < 0:
            stop = end
        yield text[start:stop].removesuffix("\r")
        start = stop + 1


def iter_control(text: str) -> Iterator[dict[str, str]]:
    """The paragraphs of :func:`parse_control` one at a time (a status file can be large)."""
    current: dict[str, str] = {}
    key = ""
    for line in _lines(text):
        if not line.strip():
            if current:
                yield current
                current = {}
            key = ""
            continue
        if line[0] in " \t":
            if key:
                current[key] += "\n" + line[1:]
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip()
        current[key] = value.strip()
    if current:
        yield current


def _installed(fields: dict[str, str]) -> bool:
    status = fields.get("Status", "install ok installed").split()
    # dpkg-query -W lists every package dpkg knows except ones that are fully gone
    return bool(status) and status[-1] != "not-installed"


def _source(fields: dict[str, str]) -> tuple[str, str]:
    source = fields.get("Source", "")
    if not source:
        return "", ""
    m = re.match(r"(\S+)(?:\s+\((\S+)\))?", source)
    if not m:
        return "", ""
    return m.group(1), m.group(2) or ""


def _licenses(view: FileView, name: str) -> list[str]:
    data = view.read(f"/usr/share/doc/{name}/copyright")
    if data is None:
        return []
    seen: dict[str, None] = {}
    for m in _LICENSE.finditer(data):
        value = m.group(1).decode("utf-8", "replace").strip().rstrip(",")
        if value:
            seen.setdefault(value, None)
    for m in _COMMON.finditer(data):
        seen.setdefault(m.group(1).decode("utf-8", "replace"), None)
    return list(seen)


def deb_purl(
    name: str, version: str, arch: str, source: str, source_version: str, distro: Distro | None
) -> str:
    """Syft's spelling: ``upstream=SRC`` when the source differs, ``SRC@VER`` for binNMUs."""
    qualifiers = {"arch": arch}
    if distro is not None:
        qualifiers["distro"] = (
            f"{distro.id}-{distro.version_id}" if distro.version_id else distro.id
        )
    if source_version and source_version != version:
        qualifiers["upstream"] = f"{source or name}@{source_version}"
    elif source and source != name:
        qualifiers["upstream"] = source
    namespace = distro.id if distro is not None else "debian"
    return purl("deb", name, version, namespace=namespace, qualifiers=qualifiers)


class DpkgCataloger:
    name = "dpkg-db-cataloger"
    globs = (_STATUS, "/var/lib/dpkg/status.d/*", "/usr/share/doc/*/copyright")

    def catalog(self, view: FileView, context: Context) -> list[Package]:
        files = [_STATUS] if _STATUS in view.contents else []
        files += [p for p in view.glob(_STATUS_D) if "." not in p.rsplit("/", 1)[1]]
        out: list[Package] = []
        for path in files:
            data = view.read(path)
            if data is None:
                continue
            entry = view.entries.get(path)
            location = Location(path, entry.layer if entry else None)
            for fields in iter_control(data.decode("utf-8", "replace")):
                name, version = fields.get("Package", ""), fields.get("Version", "")
                if not name or not version or not _installed(fields):
                    continue
                context.budget.check_packages(len(out) + 1, path)
                arch = fields.get("Architecture", "")
                src, src_version = _source(fields)
                pkg = Package(
                    name,
                    version,
                    "deb",
                    deb_purl(name, version, arch, src, src_version, context.distro),
                    licenses=_licenses(view, name),
                    locations=[location],
                    arch=arch,
                    source_name=src or name,
                    source_version=src_version or version,
                )
                out.append(pkg)
        return out
