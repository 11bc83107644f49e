"""Java runtimes by their ``release`` file (``JAVA_VERSION="17.0.9"``), as syft's
``java-jvm-cataloger`` reports them: ``openjdk``, a ``binary`` package, ``pkg:generic/oracle/…``."""

from __future__ import annotations

from dockyard.scan._filesystem import FileView
from dockyard.scan._globs import compile_globs
from dockyard.scan._package import Location, Package, purl
from dockyard.scan.catalog._base import Context
from dockyard.scan.catalog._osrelease import parse_os_release

__all__ = ["JvmReleaseCataloger"]

GLOBS = ("/**/jvm/*/release", "/**/java/*/release")
_PATTERN = compile_globs(GLOBS)
#: a release file is a few hundred bytes; anything much larger is not one
_MAX_BYTES = 64 << 10


class JvmReleaseCataloger:
    name = "java-jvm-cataloger"
    globs = GLOBS

    def catalog(self, view: FileView, context: Context) -> list[Package]:
        out: list[Package] = []
        for path in view.glob(_PATTERN):
            entry = view.entry(path)
            if entry is None or entry.size > _MAX_BYTES:
                continue
            data = view.read(path)
            if data is None:
                continue
            fields = parse_os_release(data.decode("utf-8", "replace"))
            java_version = fields.get("JAVA_VERSION", "")
            if not java_version:
                continue
            version = fields.get("JAVA_RUNTIME_VERSION") or java_version
            out.append(
                Package(
                    "openjdk",
                    version,
                    "binary",
                    purl("generic", "openjdk", version, namespace="oracle"),
                    locations=[Location(path, entry.layer)],
                    cpes=[f"cpe:2.3:a:oracle:openjdk:{java_version}:*:*:*:*:*:*:*"],
                    metadata={"implementor": fields.get("IMPLEMENTOR", "")},
                )
            )
        return out
