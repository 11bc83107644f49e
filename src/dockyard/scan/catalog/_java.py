"""Java archives: ``pom.properties`` and ``MANIFEST.MF`` in jars, wars and ears (nested too)."""

from __future__ import annotations

import io
import re
import zipfile

from dockyard.scan._budget import ScanBudget
from dockyard.scan._filesystem import FileView
from dockyard.scan._globs import compile_globs
from dockyard.scan._package import Location, Package, purl
from dockyard.scan.catalog._base import Context

__all__ = ["JavaCataloger", "parse_manifest"]

_EXTS = ("jar", "war", "ear", "jpi", "hpi")
_PATTERN = compile_globs([f"**/*.{e}" for e in _EXTS])
_NESTED = tuple(f".{e}" for e in _EXTS)
_NAME_VERSION = re.compile(r"^(?P<name>.+?)-(?P<version>\d[^/]*?)\.(?:jar|war|ear|jpi|hpi)$")
_MAX_DEPTH = 4


def parse_manifest(text: str) -> dict[str, str]:
    """The main section of a JAR manifest (72-byte lines continued by a leading space)."""
    out: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line:
            break
        if line.startswith(" ") and key:
            out[key] += line[1:]
            continue
        key, _, value = line.partition(":")
        out[key.strip()] = value.strip()
    return out


def _properties(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")) and "=" in line:
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


def _read(zf: zipfile.ZipFile, name: str, entry: str, budget: ScanBudget) -> bytes:
    """One entry, refused past ``budget.file_bytes`` (zipfile stops at the size it declares)."""
    budget.check_file(f"{name}:{entry}", zf.getinfo(entry).file_size)
    return zf.read(entry)


def _archive(
    zf: zipfile.ZipFile, name: str, location: Location, depth: int, budget: ScanBudget
) -> list[Package]:
    out: list[Package] = []
    names = zf.namelist()
    poms = [n for n in names if n.startswith("META-INF/maven/") and n.endswith("/pom.properties")]
    manifest: dict[str, str] = {}
    if "META-INF/MANIFEST.MF" in names:
        data = _read(zf, name, "META-INF/MANIFEST.MF", budget)
        manifest = parse_manifest(data.decode("utf-8", "replace"))
    licenses = [v for v in [manifest.get("Bundle-License", "")] if v]
    base = name.rsplit("/", 1)[-1]
    for pom in poms:
        props = _properties(_read(zf, name, pom, budget).decode("utf-8", "replace"))
        group, artifact, version = (
            props.get("groupId"),
            props.get("artifactId"),
            props.get("version"),
        )
        if group and artifact and version:
            out.append(
                Package(
                    artifact,
                    version,
                    "java-archive",
                    purl("maven", artifact, version, namespace=group),
                    list(licenses),
                    [location],
                    metadata={"groupId": group, "archive": name},
                )
            )
    if not out:
        m = _NAME_VERSION.match(base)
        artifact = manifest.get("Implementation-Title") or (m.group("name") if m else "")
        version = (
            manifest.get("Implementation-Version")
            or manifest.get("Bundle-Version")
            or (m.group("version") if m else "")
        )
        if m and not manifest.get("Implementation-Title"):
            artifact = m.group("name")
        if artifact and version:
            group = (
                manifest.get("Implementation-Vendor-Id")
                or manifest.get("Bundle-SymbolicName", artifact).split(";")[0]
            )
            if group == artifact:
                group = artifact
            out.append(
                Package(
                    artifact,
                    version,
                    "java-archive",
                    purl("maven", artifact, version, namespace=group),
                    list(licenses),
                    [location],
                    metadata={"archive": name},
                )
            )
    if depth < _MAX_DEPTH:
        for inner in names:
            if inner.lower().endswith(_NESTED):
                data = _read(zf, name, inner, budget)
                try:
                    with zipfile.ZipFile(io.BytesIO(data)) as nested:
                        out += _archive(nested, f"{name}:{inner}", location, depth + 1, budget)
                except (zipfile.BadZipFile, OSError, ValueError):
                    continue
    return out


class JavaCataloger:
    name = "java-archive-cataloger"
    globs = tuple(f"**/*.{e}" for e in _EXTS)

    def catalog(self, view: FileView, context: Context) -> list[Package]:
        out: list[Package] = []
        for path in view.glob(_PATTERN):
            stream = view.open(path)
            if stream is None:
                continue
            entry = view.entries.get(path)
            try:
                with zipfile.ZipFile(stream) as zf:
                    location = Location(path, entry.layer if entry else None)
                    out += _archive(zf, path, location, 0, context.budget)
            except (zipfile.BadZipFile, OSError, ValueError):
                continue
        return out
