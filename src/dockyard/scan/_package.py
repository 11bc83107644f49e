"""What a cataloger finds: packages, where they live, and the distribution they belong to."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

__all__ = ["Distro", "Location", "Package", "purl"]


@dataclass(frozen=True, slots=True)
class Location:
    """A file that declares a package, and the layer (diff_id) its final version came from."""

    path: str
    layer: str | None = None


@dataclass(frozen=True, slots=True)
class Distro:
    """The operating system from ``/etc/os-release`` (or ``/usr/lib/os-release``)."""

    id: str
    version_id: str = ""
    version_codename: str = ""
    pretty_name: str = ""
    id_like: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        """``debian``, ``alpine``, ``rhel``… the distribution whose package data applies."""
        for name in (self.id, *self.id_like):
            if name in {"debian", "ubuntu", "alpine", "rhel", "fedora", "centos"}:
                return name
        return self.id


@dataclass(slots=True)
class Package:
    name: str
    version: str
    type: str  # deb, apk, rpm, python, npm, go-module, java-archive, gem, rust-crate, binary
    purl: str = ""
    licenses: list[str] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)
    arch: str = ""
    source_name: str = ""
    source_version: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    #: CPE 2.3 names (binary packages found by a classifier carry them, as syft's do)
    cpes: list[str] = field(default_factory=list)

    @property
    def layer(self) -> str | None:
        return self.locations[0].layer if self.locations else None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.type, self.name, self.version)


def _enc(text: str) -> str:
    """packageurl-python's quoting: everything percent-encoded except unreserved chars and ':'."""
    return quote(text, safe="").replace("%3A", ":")


def purl(
    ptype: str,
    name: str,
    version: str = "",
    *,
    namespace: str = "",
    qualifiers: dict[str, str] | None = None,
    subpath: str = "",
) -> str:
    """A package URL (github.com/package-url/purl-spec): ``pkg:type/namespace/name@version?q``.

    Namespace segments and the name are percent-encoded; qualifiers are sorted by key and empty
    values dropped, as the spec's canonical form requires.
    """
    out = f"pkg:{ptype.lower()}/"
    if namespace:
        out += "/".join(_enc(seg) for seg in namespace.split("/") if seg) + "/"
    out += _enc(name)
    if version:
        out += "@" + _enc(version)
    if qualifiers:
        parts = [f"{k.lower()}={_enc(v)}" for k, v in sorted(qualifiers.items()) if v]
        if parts:
            out += "?" + "&".join(parts)
    if subpath:
        segments = [_enc(seg) for seg in subpath.split("/") if seg not in {"", ".", ".."}]
        out += "#" + "/".join(segments)
    return out
