"""Rust crates: ``Cargo.lock`` files and cargo-auditable binaries (``.dep-v0`` section)."""

from __future__ import annotations

import json
import tomllib
import zlib

from dockyard.scan._filesystem import FileEntry, FileView, ProbeData
from dockyard.scan._globs import compile_globs
from dockyard.scan._package import Location, Package, purl
from dockyard.scan.catalog._base import Context
from dockyard.scan.catalog._elf import elf_section

__all__ = ["CargoAuditableCataloger", "CargoLockCataloger"]

_LOCK = compile_globs(["**/Cargo.lock"])


class CargoLockCataloger:
    name = "rust-cargo-lock-cataloger"
    globs = ("**/Cargo.lock",)

    def catalog(self, view: FileView, context: Context) -> list[Package]:
        out = []
        for path in view.glob(_LOCK):
            data = view.read(path)
            if data is None:
                continue
            try:
                doc = tomllib.loads(data.decode("utf-8", "replace"))
            except tomllib.TOMLDecodeError:
                continue
            entry = view.entries.get(path)
            for item in doc.get("package", []):
                name, version = item.get("name"), item.get("version")
                if isinstance(name, str) and isinstance(version, str):
                    out.append(
                        Package(
                            name,
                            version,
                            "rust-crate",
                            purl("cargo", name, version),
                            locations=[Location(path, entry.layer if entry else None)],
                        )
                    )
        return out


class CargoAuditableCataloger:
    name = "cargo-auditable-binary-cataloger"

    def probe(self, entry: FileEntry, data: ProbeData) -> list[Package]:
        section = elf_section(data, ".dep-v0")
        if section is None:
            return []
        try:
            doc = json.loads(zlib.decompress(section))
        except (zlib.error, ValueError):
            return []
        out = []
        for item in doc.get("packages", []):
            name, version = item.get("name"), item.get("version")
            if isinstance(name, str) and isinstance(version, str) and item.get("kind") != "build":
                out.append(
                    Package(
                        name,
                        version,
                        "rust-crate",
                        purl("cargo", name, version),
                        locations=[Location(entry.path, entry.layer)],
                    )
                )
        return out
