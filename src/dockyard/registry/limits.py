"""Every limit the registry enforces, in one table: default, config key, and the error it gives.

The ``limits:`` section of the config file (dockyard's own; registry:2 hard-codes most of
these) sets any of them, e.g. ``limits: {headerbytes: 65536, manifestbytes: 4MiB}``; every key
can also be set from the environment (``REGISTRY_LIMITS_HEADERBYTES=65536``). An unknown key is
a start-up error naming the known ones. Sizes accept a plain number of bytes or a number with
``KiB``/``MiB``/``GiB``; durations accept seconds (``30``) or ``30s``/``5m``/``2h``.

``README.md`` (Operations) prints this table; :func:`limits_table_markdown` writes it, and a test
keeps the two equal.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.errors import InvalidArgument

__all__ = [
    "LIMIT_SPECS",
    "LimitSpec",
    "Limits",
    "limits_from_section",
    "limits_table_markdown",
    "parse_duration",
]


@dataclass(frozen=True, slots=True)
class LimitSpec:
    """One row of the table: the field of :class:`Limits`, its unit and what exceeding it gives."""

    name: str
    unit: str  # "bytes", "count" or "seconds"
    what: str
    error: str

    @property
    def key(self) -> str:
        """The config key: ``limits.<name without underscores>``."""
        return "limits." + self.name.replace("_", "")


@dataclass(frozen=True, slots=True)
class Limits:
    """The values in force (defaults here; the config's ``limits:`` section overrides)."""

    # HTTP framing (answered before any handler runs)
    request_line_bytes: int = 8 << 10
    header_bytes: int = 64 << 10
    header_count: int = 100
    header_timeout: float = 30.0
    keepalive_timeout: float = 75.0
    max_connections: int = 10_000
    # bodies
    manifest_bytes: int = 4 << 20
    tags_per_put: int = 100
    blob_bytes: int = 64 << 30
    upload_session_lifetime: float = 7 * 24 * 3600.0
    verify_read_bytes: int = 1 << 20
    # scanning (in a separate worker process)
    scan_seconds: float = 300.0
    scan_memory_bytes: int = 2 << 30
    scan_layer_bytes: int = 4 << 30
    scan_file_bytes: int = 64 << 20
    scan_packages: int = 100_000


LIMIT_SPECS: tuple[LimitSpec, ...] = (
    LimitSpec("request_line_bytes", "bytes", "request line (method, path, query, version)",
              "414 URI Too Long"),
    LimitSpec("header_bytes", "bytes", "all request header lines together",
              "431 Request Header Fields Too Large"),
    LimitSpec("header_count", "count", "request header lines",
              "431 Request Header Fields Too Large"),
    LimitSpec("header_timeout", "seconds", "time to receive a request's headers (slowloris)",
              "408 Request Timeout, connection closed"),
    LimitSpec("keepalive_timeout", "seconds", "idle time of a kept-alive connection",
              "connection closed"),
    LimitSpec("max_connections", "count", "open client connections per server process",
              "503 Service Unavailable, connection closed"),
    LimitSpec("manifest_bytes", "bytes", "a manifest PUT body (registry:2: 4 MiB)",
              "413 SIZE_INVALID, body read no further"),
    LimitSpec("tags_per_put", "count", "distinct `?tag=` parameters of one manifest PUT by digest",
              "414 URI Too Long, MANIFEST_INVALID; nothing stored or tagged"),
    LimitSpec("blob_bytes", "bytes", "one blob upload, all its chunks together",
              "413 SIZE_INVALID, body read no further; the upload keeps what it had"),
    LimitSpec("upload_session_lifetime", "seconds", "an upload session's idle lifetime",
              "removed at the next start-up; then 404 BLOB_UPLOAD_UNKNOWN"),
    LimitSpec("verify_read_bytes", "bytes", "a blob hashed on every GET (a mismatch is "
              "quarantined and answered 404 BLOB_UNKNOWN)",
              "sent unhashed (sendfile); `dockyard registry fsck` checks it"),
    LimitSpec("scan_seconds", "seconds", "CPU time of one image scan",
              "scan reported as failed (time budget), queue moves on"),
    LimitSpec("scan_memory_bytes", "bytes", "address space of the scan worker process",
              "scan reported as failed (memory budget), queue moves on"),
    LimitSpec("scan_layer_bytes", "bytes", "decompressed bytes read from one layer by a scan",
              "scan reported as failed (decompressed size)"),
    LimitSpec("scan_file_bytes", "bytes", "one package-database file read by a scan",
              "scan reported as failed (file too large)"),
    LimitSpec("scan_packages", "count", "packages catalogued in one image",
              "scan reported as failed (too many packages)"),
)  # fmt: skip

_SIZE = re.compile(r"^\s*(\d+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1000, "kib": 1 << 10, "m": 1 << 20, "mb": 10**6,
          "mib": 1 << 20, "g": 1 << 30, "gb": 10**9, "gib": 1 << 30}  # fmt: skip
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_SECONDS = {"": 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "h": 3600.0}


def parse_duration(value: Any, key: str) -> float:
    """Seconds from ``30``, ``30s``, ``5m``, ``2h`` or ``100ms``; InvalidArgument names ``key``."""
    m = _DURATION.match(str(value))
    seconds = float(m.group(1)) * _SECONDS[m.group(2) or ""] if m else 0.0
    if seconds <= 0:
        raise InvalidArgument(
            f"configuration key {key!r} must be a positive duration such as 30s, 5m or 2h, "
            f"got {value!r}"
        )
    return seconds


def _parse(spec: LimitSpec, value: Any) -> int | float:
    text = str(value)
    if spec.unit == "seconds":
        m = _DURATION.match(text)
        if m is None:
            raise _bad(spec, value, "a duration such as 30, 30s, 5m or 2h")
        number: int | float = float(m.group(1)) * _SECONDS[m.group(2) or ""]
    else:
        m = _SIZE.match(text)
        if m is None or (spec.unit == "count" and m.group(2)):
            unit = "a whole number" if spec.unit == "count" else "a size such as 65536 or 4MiB"
            raise _bad(spec, value, unit)
        number = int(m.group(1)) * _UNITS[(m.group(2) or "").lower()]
    if number <= 0:
        raise _bad(spec, value, "a positive value")
    return number


def _bad(spec: LimitSpec, value: Any, expected: str) -> InvalidArgument:
    return InvalidArgument(
        f"configuration key {spec.key!r} must be {expected}, got {value!r}",
        hint=f"fix {spec.key!r} in the config file or REGISTRY_{spec.key.upper().replace('.', '_')}",
    )


def limits_from_section(section: Mapping[str, Any] | None) -> Limits:
    """:class:`Limits` from the config's ``limits:`` mapping; unknown keys are errors."""
    if not section:
        return Limits()
    if not isinstance(section, Mapping):
        raise InvalidArgument("configuration key 'limits' must be a mapping of limit names")
    by_key = {spec.key.partition(".")[2]: spec for spec in LIMIT_SPECS}
    values: dict[str, int | float] = {}
    for raw_key, value in section.items():
        spec = by_key.get(str(raw_key).lower().replace("_", "").replace("-", ""))
        if spec is None:
            raise InvalidArgument(
                f"unknown configuration key 'limits.{raw_key}'",
                hint="known limits: " + ", ".join(sorted(by_key)),
            )
        number = _parse(spec, value)
        values[spec.name] = int(number) if spec.unit != "seconds" else float(number)
    return dataclasses.replace(Limits(), **values)  # type: ignore[arg-type]


def _shown(spec: LimitSpec, value: float) -> str:
    if spec.unit == "seconds":
        for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
            if value >= size and value % size == 0:
                return f"{int(value) // size} {unit}"
        return f"{value:g} s"
    if spec.unit == "count":
        return f"{int(value):,}"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= size and value % size == 0:
            return f"{int(value) // size} {unit}"
    return f"{int(value)} bytes"


def limits_table_markdown() -> str:
    """The README's table of limits, from :data:`LIMIT_SPECS` and the defaults."""
    defaults = Limits()
    rows = ["| config key | limits | default | when exceeded |", "|---|---|---|---|"]
    for spec in LIMIT_SPECS:
        value = getattr(defaults, spec.name)
        rows.append(f"| `{spec.key}` | {spec.what} | {_shown(spec, value)} | {spec.error} |")
    return "\n".join(rows) + "\n"
