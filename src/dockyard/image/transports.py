"""Image locations in skopeo's spelling: ``docker://``, ``oci:``, ``oci-archive:``,
``docker-archive:``, and plain references for the local store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dockyard.errors import InvalidArgument
from dockyard.reference import Reference

__all__ = ["Location", "TransportKind", "parse_location"]

TransportKind = Literal["docker", "oci", "oci-archive", "docker-archive", "store"]
_PREFIXES: tuple[tuple[str, TransportKind], ...] = (
    ("docker://", "docker"),
    ("oci-archive:", "oci-archive"),
    ("docker-archive:", "docker-archive"),
    ("oci:", "oci"),
)
_KNOWN = "docker://HOST/REPO:TAG, oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REF]"


@dataclass(frozen=True)
class Location:
    kind: TransportKind
    #: registry and store locations
    ref: Reference | None = None
    #: layout directories and archive files
    path: Path | None = None
    #: the name inside a layout or archive (``oci:DIR:NAME``), if any
    name: str | None = None

    def __str__(self) -> str:
        if self.kind == "docker":
            assert self.ref is not None
            return f"docker://{self.ref}"
        if self.kind == "store":
            assert self.ref is not None
            return self.ref.familiar
        return f"{self.kind}:{self.path}" + (f":{self.name}" if self.name else "")


def parse_location(text: str) -> Location:
    """Parse a copy source or destination; raises InvalidArgument naming the accepted forms."""
    for prefix, kind in _PREFIXES:
        if text.startswith(prefix):
            rest = text[len(prefix) :]
            if kind == "docker":
                if rest.startswith("//") or not rest:
                    raise InvalidArgument(f"{text}: expected docker://HOST/REPO[:TAG]")
                return Location(kind, ref=Reference.parse_with_default_tag(rest))
            path, sep, name = rest.partition(":")
            if not path:
                raise InvalidArgument(f"{text}: the {kind} transport needs a path ({_KNOWN})")
            if sep and not name:
                raise InvalidArgument(f"{text}: empty name after the path")
            return Location(kind, path=Path(path), name=name or None)
    if "://" in text or (text.split(":", 1)[0] in ("containers-storage", "dir", "docker-daemon")):
        raise InvalidArgument(
            f"unsupported transport in {text!r}", hint=f"use one of {_KNOWN}, or a plain name"
        )
    try:
        return Location("store", ref=Reference.parse_with_default_tag(text))
    except InvalidArgument as exc:
        raise InvalidArgument(
            f"{text!r} is neither a transport ({_KNOWN}) nor an image reference: {exc}"
        ) from exc
