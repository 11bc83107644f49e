"""The debug server on ``http.debug.addr`` (registry:2's): ``/metrics`` and the detailed health.

Operators' pages stay off the API port, where anyone who reaches the registry could read them.
A small threaded HTTP/1.0 server from the standard library, in the registry process (the first
worker when there are several: its ``/metrics`` already adds up every worker's counts). Plain
HTTP, no auth: bind it to loopback or an operations network.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from dockyard import __version__
from dockyard.errors import FailedPrecondition, InvalidArgument
from dockyard.registry._registry import Registry

__all__ = ["DebugPages", "DebugServer", "check_debug_addr", "debug_host_port", "start_debug_server"]

log = logging.getLogger("dockyard.registry")


@dataclass(frozen=True, slots=True)
class DebugPages:
    """What the debug server shows: ``metrics`` (render, content type) when metrics are on."""

    registry: Registry
    root: Path
    metrics_path: str = "/metrics"
    metrics: Callable[[], bytes] | None = None
    metrics_content_type: str = "text/plain; version=0.0.4; charset=utf-8"
    worker: tuple[int, int] = (0, 1)
    started: float = 0.0

    def health(self) -> tuple[int, bytes]:
        """The detailed health: each check's result, the version, this process."""
        checks = {"database": _check(lambda: self.registry.meta.repository_exists(""))}
        checks["storage"] = (
            "ok" if os.access(self.root, os.W_OK) else f"cannot write to {self.root}"
        )
        up = all(v == "ok" for v in checks.values())
        body = {
            "status": "ok" if up else "down",
            "version": __version__,
            "checks": checks,
            "pid": os.getpid(),
            "worker": {"index": self.worker[0], "count": self.worker[1]},
            "uptime_seconds": round(time.monotonic() - self.started, 1) if self.started else 0,
        }
        return (200 if up else 503), json.dumps(body).encode()


def _check(probe: Callable[[], object]) -> str:
    try:
        probe()
    except Exception as exc:  # a health check reports any failure rather than raise
        return f"failed: {exc}"
    return "ok"


def debug_host_port(addr: str) -> tuple[str, int]:
    """``http.debug.addr`` split for binding; ``":5001"`` is every interface, as registry:2."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) <= 65535:
        raise InvalidArgument(
            f"http.debug.addr {addr!r} is not HOST:PORT",
            hint="use e.g. 127.0.0.1:5001 (REGISTRY_HTTP_DEBUG_ADDR)",
        )
    return host.strip("[]") or "0.0.0.0", int(port)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    pages: DebugPages


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "dockyard-debug"

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _answer(self, *, head: bool) -> None:
        pages = self.server.pages
        path = self.path.split("?", 1)[0]
        if path == pages.metrics_path and pages.metrics is not None:
            status, body, kind = 200, pages.metrics(), pages.metrics_content_type
        elif path == "/healthz":
            status, body = pages.health()
            kind = "application/json"
        else:
            status, body, kind = (
                404,
                b"not found: this is the registry's debug server\n",
                "text/plain",
            )
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("debug server: " + format, *args)


class DebugServer:
    """A running debug server; :meth:`close` stops it."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.5}, name="debug-server",
            daemon=True,
        )  # fmt: skip
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _bind(addr: str) -> _Server:
    host, port = debug_host_port(addr)
    _Server.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return _Server((host, port), _Handler)
    except OSError as exc:
        raise FailedPrecondition(
            f"cannot listen on http.debug.addr {addr}: {exc.strerror or exc}",
            hint="pick a free address for the debug server (REGISTRY_HTTP_DEBUG_ADDR)",
        ) from exc


def check_debug_addr(addr: str) -> None:
    """Raise the error :func:`start_debug_server` would, now (before workers start)."""
    _bind(addr).server_close()


def start_debug_server(addr: str, pages: DebugPages) -> DebugServer:
    """Listen on ``addr`` and serve ``pages`` from a background thread."""
    server = _bind(addr)
    server.pages = pages
    return DebugServer(server)
