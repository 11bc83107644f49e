"""Access log entries: one JSON object a line, or Apache's "combined" text line.

The server builds an :class:`AccessEntry` per answered request and hands it to an
:class:`AccessLog`, which writes whole lines under a lock (safe from many threads and tasks).
With ``flush_interval`` set, lines are kept in memory and written in batches by a background
thread (every ``flush_interval`` seconds, at once when the batch is large, and on ``close``)
instead of one write and flush per request.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
    """The client's ``X-Request-Id`` if it is sane (≤ 128 printable ASCII), else a new random
    (version 4) UUID. Request ids need to be unique, not secret: no system call per request."""
    if incoming and len(incoming) <= 128 and incoming.isascii() and incoming.isprintable():
        return incoming
    h = f"{_random_bits(128) & _V4_MASK | _V4_BITS:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# the module's generator: Python reseeds it in a forked child, so workers never share ids
_random_bits = random.getrandbits
#: the version (4) and variant (RFC 4122) bits of a random UUID
_V4_MASK = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_V4_BITS = (0x4000 << 64) | (0x8000 << 48)


@dataclass(slots=True)  # not frozen: built once per request, and a frozen init is 2x slower
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
    t = entry.time.astimezone(UTC)
    record = {
        "method": entry.method,
        "path": entry.path,
        "status": entry.status,
        "bytes": entry.bytes,
        "duration_ms": round(entry.duration_ms, 3),
        "remote": entry.remote,
        "user": entry.user,
        "user_agent": entry.user_agent,
        "referer": entry.referer,
        "request_id": entry.request_id,
        "protocol": entry.protocol,
        "bytes_received": entry.bytes_received,
        "time": f"{_seconds(t, _json_stamp)}.{t.microsecond // 1000:03d}Z",
    }
    return _json_line(record)


_json_line = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _json_stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S")


def _combined_stamp(t: datetime) -> str:
    return f"{t.day:02d}/{_MONTHS[t.month - 1]}/{t.year}:{t:%H:%M:%S} +0000"


_stamps: dict[object, tuple[datetime, str]] = {}


def _seconds(t: datetime, render: Callable[[datetime], str]) -> str:
    """``render(t)``, remembered for the rest of that second (one format per second, not per
    line)."""
    last = _stamps.get(render)
    if last is not None:
        seen = last[0]
        if (
            seen.second == t.second
            and seen.minute == t.minute
            and seen.hour == t.hour
            and seen.day == t.day
            and seen.month == t.month
            and seen.year == t.year
        ):
            return last[1]
    text = render(t)
    _stamps[render] = (t, text)
    return text


def _quoted(value: str | None) -> str:
    if value is None:
        return '"-"'
    if value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in escaped) + '"'


def format_combined(entry: AccessEntry) -> str:
    """Apache's combined format, as registry:2 logs requests, plus duration and request id::

    127.0.0.1 - alice [28/Nov/2026:12:20:08 +0000] "GET /v2/ HTTP/1.1" 200 2 "-" "curl/8" 0.412 id
    """
    stamp = _seconds(entry.time.astimezone(UTC), _combined_stamp)
    request = _quoted(f"{entry.method} {entry.path} {entry.protocol}")
    return (
        f"{entry.remote or '-'} - {_token(entry.user)} [{stamp}] {request} {entry.status} "
        f"{entry.bytes} {_quoted(entry.referer)} {_quoted(entry.user_agent)} "
        f"{entry.duration_ms:.3f} {_token(entry.request_id)}"
    )


def _token(value: str | None) -> str:
    if not value:
        return "-"
    if value.isprintable() and " " not in value:  # printable and no space: no whitespace
        return value
    return "".join(c if c.isprintable() and not c.isspace() else "_" for c in value)


class AccessLog:
    """Writes entries as whole lines to ``stream`` ("json" or "combined"); ``None`` is off.

    Without ``flush_interval`` every entry is written and flushed at once. With it, lines
    collect in memory and a background thread writes them in one call every ``flush_interval``
    seconds, or sooner once ``batch_bytes`` are waiting; :meth:`close` writes what is left
    (and entries written after it go out at once), so no line is lost on a clean shutdown.
    """

    def __init__(
        self,
        stream: IO[str] | None,
        fmt: Literal["json", "combined"] = "json",
        *,
        flush_interval: float | None = None,
        batch_bytes: int = 256 << 10,
    ) -> None:
        if fmt not in ("json", "combined"):
            raise ValueError(f"access log format {fmt!r}: use json or combined")
        if flush_interval is not None and flush_interval <= 0:
            raise ValueError(f"flush interval {flush_interval!r}: use a number of seconds > 0")
        self.stream = stream
        self.format = format_json if fmt == "json" else format_combined
        self.flush_interval = flush_interval
        self.batch_bytes = batch_bytes
        self._lock = threading.Lock()  # guards the batch
        self._io_lock = threading.Lock()  # one writer at a time, batches in order
        self._batch: list[str] = []
        self._batched = 0
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        if flush_interval is not None and stream is not None:
            self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
            self._thread.start()

    def write(self, entry: AccessEntry) -> None:
        if self.stream is None:
            return
        line = self.format(entry) + "\n"
        full = False
        with self._lock:
            batching = self._thread is not None
            if batching:
                self._batch.append(line)
                self._batched += len(line)
                full = self._batched >= self.batch_bytes
        if not batching:
            self._write(line)
        elif full:
            self._wake.set()

    def flush(self) -> None:
        """Write the lines waiting in memory now."""
        self._write("")

    def _write(self, line: str) -> None:
        """Write the waiting lines, then ``line``, in order."""
        if self.stream is None:
            return
        with self._io_lock:
            with self._lock:
                batch, self._batch, self._batched = self._batch, [], 0
            if batch or line:
                batch.append(line)
                self.stream.write("".join(batch))
                self.stream.flush()

    def close(self) -> None:
        """Stop the background writer and write every waiting line (the stream stays open)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._wake.set()
            thread.join()
        self.flush()

    def _run(self) -> None:
        interval = self.flush_interval
        while self._thread is not None:
            self._wake.wait(interval)
            self._wake.clear()
            try:
                self.flush()
            except (OSError, ValueError):  # a broken or closed stream: keep going, never block
                time.sleep(interval or 1.0)
