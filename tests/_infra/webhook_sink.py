"""A local HTTP receiver for webhook deliveries: a tiny threaded server on 127.0.0.1 that
records every POST (path, headers, body) and answers with the statuses it is told to (2xx by
default). ``stop()`` takes it down and ``start()`` brings it back on the same port (a
target that was down and returns)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from _infra._registry import free_port

__all__ = ["Received", "WebhookReceiver", "valid_signature"]


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def valid_signature(secret: str, received: Received, header: str) -> bool:
    """Whether ``header`` holds ``sha256=<hex HMAC-SHA256 of the body>`` (what a receiver
    checks, in constant time)."""
    given = received.headers.get(header.lower(), "")
    expected = "sha256=" + hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given, expected)


class WebhookReceiver:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        #: statuses to answer with, first to last; 204 once empty
        self.statuses: deque[int] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WebhookReceiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with owner._lock:
                    status = owner.statuses.popleft() if owner.statuses else 204
                    if 200 <= status < 300:
                        owner.received.append(Received(self.path, headers, body))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """The first ``count`` deliveries, once they have arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"{len(self.received)} of {count} deliveries after {timeout}s")

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
