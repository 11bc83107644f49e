"""``--cache-from`` / ``--cache-to``: where a build's cache is imported from and exported to,
in BuildKit's spelling (``type=registry,ref=REG/REPO:TAG,mode=max``, ``type=local,dest=DIR``,
or a bare reference)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dockyard.errors import InvalidArgument, Unsupported

__all__ = ["CacheSpec", "parse_cache_spec"]

CacheType = Literal["registry", "local"]

#: BuildKit options dockyard accepts and has no use for (its cache is always OCI, gzip).
_IGNORED = frozenset(
    {"oci-mediatypes", "image-manifest", "compression", "compression-level", "force-compression"}
)


@dataclass(frozen=True, slots=True)
class CacheSpec:
    """One cache location: a registry reference, or an OCI layout directory (and its tag)."""

    type: CacheType
    ref: str | None = None
    path: Path | None = None
    tag: str | None = None
    mode: Literal["min", "max"] = "min"
    ignore_error: bool = False

    def describe(self) -> str:
        if self.type == "registry":
            return str(self.ref)
        return f"{self.path}" + (f":{self.tag}" if self.tag else "")


def _bool(name: str, value: str) -> bool:
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise InvalidArgument(f"invalid cache option {name}={value!r}: expected true or false")


def parse_cache_spec(text: str, *, export: bool) -> CacheSpec:
    """Parse one ``--cache-to`` (``export``) or ``--cache-from`` value."""
    flag = "--cache-to" if export else "--cache-from"
    text = text.strip()
    if not text:
        raise InvalidArgument(f"{flag} needs a value, e.g. type=registry,ref=REGISTRY/REPO:TAG")
    if "=" not in text:
        return CacheSpec("registry", ref=text)
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, eq, value = part.partition("=")
        if not eq:
            raise InvalidArgument(f"invalid {flag} field {part!r}: expected key=value")
        fields[key.strip().lower()] = value.strip()
    kind = fields.pop("type", "registry")
    mode = fields.pop("mode", "min")
    if mode not in ("min", "max"):
        raise InvalidArgument(f"invalid {flag} mode={mode!r}: use min or max")
    ignore_error = _bool("ignore-error", fields.pop("ignore-error", "false"))
    for name in _IGNORED:
        fields.pop(name, None)
    spec: CacheSpec
    if kind == "registry":
        ref = fields.pop("ref", "")
        if not ref:
            raise InvalidArgument(f"{flag} type=registry needs ref=REGISTRY/REPOSITORY:TAG")
        spec = CacheSpec("registry", ref=ref, mode=mode, ignore_error=ignore_error)  # type: ignore[arg-type]
    elif kind == "local":
        where = "dest" if export else "src"
        path = fields.pop(where, "")
        if not path:
            raise InvalidArgument(f"{flag} type=local needs {where}=DIRECTORY (an OCI layout)")
        tag = fields.pop("tag", "") or None
        spec = CacheSpec(
            "local",
            path=Path(path),
            tag=tag,
            mode=mode,  # type: ignore[arg-type]
            ignore_error=ignore_error,
        )
    elif kind in ("inline", "gha", "s3", "azblob"):
        raise Unsupported(
            f"{flag} type={kind} is not supported",
            hint="use type=registry,ref=REGISTRY/REPO:TAG or type=local,"
            + ("dest=DIR" if export else "src=DIR"),
        )
    else:
        raise InvalidArgument(f"unknown {flag} type {kind!r}: use registry or local")
    if fields:
        raise InvalidArgument(f"unsupported {flag} option(s): {', '.join(sorted(fields))}")
    return spec
