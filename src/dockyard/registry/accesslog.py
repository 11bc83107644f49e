"""Access log entries: one JSON object a line, or Apache's "combined" text line.

The server builds an :class:`AccessEntry` per answered request and hands it to an
:class:`AccessLog`, which writes whole lines under a lock (safe from many threads and tasks).
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import IO, Literal

__all__ = [
    "REQUEST_ID_HEADER",
    "AccessEntry",
    "AccessLog",
    "format_combined",
    "format_json",
    "new_request_id",
]

REQUEST_ID_HEADER = "X-Request-Id"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def new_request_id(incoming: str | None = None) -> str:
    """The client's ``X-Request-Id`` if it is sane (≤ 128 printable ASCII), else a new UUID."""
    if incoming and len(incoming) <= 128 and incoming.isascii() and incoming.isprintable():
        return incoming
    return str(uuid.uuid4())


@dataclass(frozen=True)
class AccessEntry:
    method: str
    path: str
    status: int
    #: Response body bytes sent.
    bytes: int
    duration_ms: float
    remote: str = "-"
    user: str | None = None
    user_agent: str | None = None
    referer: str | None = None
    request_id: str = field(default_factory=new_request_id)
    protocol: str = "HTTP/1.1"
    #: Request body bytes received.
    bytes_received: int = 0
    time: datetime = field(default_factory=lambda: datetime.now(UTC))


def format_json(entry: AccessEntry) -> str:
    """One JSON object (no newline); ``time`` in RFC 3339 UTC with milliseconds."""
    record = asdict(entry)
    record["time"] = entry.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    record["duration_ms"] = round(entry.duration_ms, 3)
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _quoted(value: str | None) -> str:
    if value is None:
        return '"-"'
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in escaped) + '"'


def format_combined(entry: AccessEntry) -> str:
    """Apache's combined format, as registry:2 logs requests, plus duration and request id::

    127.0.0.1 - alice [28/Nov/2026:12:20:08 +0000] "GET /v2/ HTTP/1.1" 200 2 "-" "curl/8" 0.412 id
    """
    t = entry.time.astimezone(UTC)
    stamp = f"{t.day:02d}/{_MONTHS[t.month - 1]}/{t.year}:{t:%H:%M:%S} +0000"
    request = _quoted(f"{entry.method} {entry.path} {entry.protocol}")
    return (
        f"{entry.remote or '-'} - {_token(entry.user)} [{stamp}] {request} {entry.status} "
        f"{entry.bytes} {_quoted(entry.referer)} {_quoted(entry.user_agent)} "
        f"{entry.duration_ms:.3f} {_token(entry.request_id)}"
    )


def _token(value: str | None) -> str:
    if not value:
        return "-"
    return "".join(c if c.isprintable() and not c.isspace() else "_" for c in value)


class AccessLog:
    """Writes entries as whole lines to ``stream`` ("json" or "combined"); ``None`` is off."""

    def __init__(self, stream: IO[str] | None, fmt: Literal["json", "combined"] = "json") -> None:
        if fmt not in ("json", "combined"):
            raise ValueError(f"access log format {fmt!r}: use json or combined")
        self.stream = stream
        self.format = format_json if fmt == "json" else format_combined
        self._lock = threading.Lock()

    def write(self, entry: AccessEntry) -> None:
        if self.stream is None:
            return
        line = self.format(entry) + "\n"
        with self._lock:
            self.stream.write(line)
            self.stream.flush()
