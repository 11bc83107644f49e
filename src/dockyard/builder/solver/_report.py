"""Build progress as BuildKit prints it (``#5 [2/4] RUN …``, ``#5 DONE 1.2s``, ``#5 CACHED``),
or as JSON events, one object per line."""

from __future__ import annotations

import json
import threading
import time
from typing import IO, TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from dockyard.builder.solver._live import LiveView

__all__ = ["Reporter", "Vertex"]

Mode = Literal["plain", "json", "quiet", "tty"]


class Vertex:
    """One line of work (a step, loading the context, exporting)."""

    def __init__(self, reporter: Reporter, number: int, name: str) -> None:
        self.reporter = reporter
        self.number = number
        self.name = name
        self.started = time.monotonic()
        self.closed = False

    def log(self, line: str) -> None:
        self.reporter._log(self, line)

    def done(self) -> None:
        self.reporter._end(self, "DONE")

    def cached(self) -> None:
        self.reporter._end(self, "CACHED")

    def error(self, message: str) -> None:
        self.reporter._end(self, "ERROR", message)


class Reporter:
    """Writes progress to ``out``; safe to use from several threads (parallel stages)."""

    def __init__(self, out: IO[str] | None, mode: Mode = "plain") -> None:
        self.out = out
        self.mode: Mode = "quiet" if out is None else mode
        self._lock = threading.Lock()
        self._next = 1
        self.counts = {"DONE": 0, "CACHED": 0, "ERROR": 0}
        self._live: LiveView | None = None
        if self.mode == "tty" and out is not None:
            from dockyard.builder.solver._live import LiveView

            self._live = LiveView(out)

    def close(self) -> None:
        """End the live view (if any), leaving the finished steps on screen."""
        if self._live is not None:
            self._live.close()
            self._live = None

    def _write(self, text: str) -> None:
        if self.out is None or self.mode == "quiet":
            return
        self.out.write(text + "\n")
        self.out.flush()

    def _event(self, vertex: Vertex, event: str, **extra: object) -> None:
        obj = {"vertex": vertex.number, "name": vertex.name, "event": event, **extra}
        self._write(json.dumps(obj, separators=(",", ":")))

    def vertex(self, name: str) -> Vertex:
        with self._lock:
            v = Vertex(self, self._next, name)
            self._next += 1
            if self._live is not None:
                self._live.start(v.number, name)
            elif self.mode == "json":
                self._event(v, "start")
            else:
                self._write(f"#{v.number} {name}")
        return v

    def _log(self, vertex: Vertex, line: str) -> None:
        with self._lock:
            elapsed = time.monotonic() - vertex.started
            if self._live is not None:
                self._live.log(vertex.number, line)
            elif self.mode == "json":
                self._event(vertex, "log", line=line, elapsed=round(elapsed, 3))
            else:
                self._write(f"#{vertex.number} {elapsed:.3f} {line}")

    def _end(self, vertex: Vertex, status: str, message: str = "") -> None:
        with self._lock:
            if vertex.closed:
                return
            vertex.closed = True
            self.counts[status] += 1
            elapsed = time.monotonic() - vertex.started
            if self._live is not None:
                self._live.end(vertex.number, status, message)
            elif self.mode == "json":
                extra: dict[str, object] = {"duration": round(elapsed, 3)}
                if message:
                    extra["error"] = message
                self._event(vertex, status.lower(), **extra)
            elif status == "DONE":
                self._write(f"#{vertex.number} DONE {elapsed:.1f}s")
            elif status == "CACHED":
                self._write(f"#{vertex.number} CACHED")
            else:
                self._write(f"#{vertex.number} ERROR: {message}")

    def message(self, text: str) -> None:
        with self._lock:
            if self._live is not None:
                self._live.message(text)
            elif self.mode == "json":
                self._write(json.dumps({"event": "message", "text": text}))
            else:
                self._write(text)
