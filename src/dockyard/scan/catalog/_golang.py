"""Go binaries: the module path, version and dependencies in their embedded build info.

Go 1.18+ writes the build info inline after the ``\\xff Go buildinf:`` magic: a 32-byte header
(pointer size, flags with bit 2 = inline strings) then two varint-length strings, the Go version
and the module info (``path``/``mod``/``dep``/``=>``/``build`` lines between 16-byte sentinels).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dockyard.scan._filesystem import FileEntry, ProbeData
from dockyard.scan._package import Location, Package, purl

__all__ = ["BuildInfo", "GoBinaryCataloger", "go_purl", "read_build_info"]

MAGIC = b"\xff Go buildinf:"


@dataclass
class BuildInfo:
    go_version: str
    path: str = ""
    main: tuple[str, str] = ("", "")
    deps: list[tuple[str, str]] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)


def _varint(data: ProbeData, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
    raise ValueError("truncated varint")


def read_build_info(data: ProbeData) -> BuildInfo | None:
    at = data.find(MAGIC)
    while at != -1 and at % 16:
        at = data.find(MAGIC, at + 1)
    if at == -1 or len(data) < at + 32:
        return None
    flags = data[at + 15]
    if not flags & 2:
        return None  # pre-1.18 layout (pointers into the data segment): not read
    try:
        n, pos = _varint(data, at + 32)
        version = data[pos : pos + n].decode("utf-8", "replace")
        n, pos = _varint(data, pos + n)
        mod = data[pos : pos + n]
    except ValueError:
        return None
    if len(mod) >= 33 and mod[-17:-16] == b"\n":
        mod = mod[16:-16]
    info = BuildInfo(version)
    last: list[tuple[str, str]] | None = None
    for line in mod.decode("utf-8", "replace").splitlines():
        parts = line.split("\t")
        if parts[0] == "path" and len(parts) > 1:
            info.path = parts[1]
        elif parts[0] == "mod" and len(parts) > 2:
            info.main = (parts[1], parts[2])
            last = None
        elif parts[0] == "dep" and len(parts) > 2:
            info.deps.append((parts[1], parts[2]))
            last = info.deps
        elif parts[0] == "=>" and len(parts) > 2 and last:
            last[-1] = (parts[1], parts[2])
        elif parts[0] == "build" and len(parts) > 1 and "=" in parts[1]:
            key, _, value = parts[1].partition("=")
            info.settings[key] = value
    return info


_LDFLAGS_VERSION = re.compile(r"-X\s*=?\s*['\"]?[^\s'\"]*[._/][vV]ersion=['\"]?v?(\d[^\s'\"]*)")


def _ldflags_version(ldflags: str) -> str:
    """The version a release build injects with ``-X …version=`` (as syft infers it)."""
    m = _LDFLAGS_VERSION.search(ldflags)
    return f"v{m.group(1)}" if m else ""


def go_purl(module: str, version: str) -> str:
    namespace, _, name = module.rpartition("/")
    return purl("golang", name, version, namespace=namespace)


class GoBinaryCataloger:
    name = "go-module-binary-cataloger"

    def probe(self, entry: FileEntry, data: ProbeData) -> list[Package]:
        info = read_build_info(data)
        if info is None:
            return []
        location = [Location(entry.path, entry.layer)]
        out: list[Package] = []
        main_path, main_version = info.main
        if not main_path and info.path:
            # no `mod` line (a program of the Go distribution itself, e.g. cmd/go): the
            # package path is the main module, unversioned, as syft reports it
            main_path, main_version = info.path, "(devel)"
        if main_version == "(devel)":
            main_version = _ldflags_version(info.settings.get("-ldflags", "")) or main_version
        if main_path:
            out.append(
                Package(
                    main_path,
                    main_version,
                    "go-module",
                    go_purl(main_path, main_version),
                    locations=location,
                    metadata={"goVersion": info.go_version, "main": "true"},
                )
            )
        for path, version in info.deps:
            out.append(
                Package(
                    path,
                    version,
                    "go-module",
                    go_purl(path, version),
                    locations=list(location),
                    metadata={"goVersion": info.go_version},
                )
            )
        if info.go_version.startswith("go"):
            version = info.go_version.removeprefix("go").split()[0]
            out.append(
                Package(
                    "stdlib",
                    version,
                    "go-module",
                    purl("golang", "stdlib", version),
                    locations=list(location),
                    metadata={"goVersion": info.go_version},
                )
            )
        return out
