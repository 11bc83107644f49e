"""A reverse proxy on loopback in front of a real registry that misbehaves on purpose.

Real registries do not drop connections or flip bytes on demand, so this proxy does it:
``cut`` sends the headers and half of a blob body, then closes the socket (once per blob);
``flip`` inverts one byte in the middle of every blob body; ``ratelimit`` answers every
request with 429 and a Retry-After.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


class MisbehavingProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.mode = mode
        self.cut_done: set[str] = set()
        self.blob_requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.lock = threading.Lock()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: MisbehavingProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.server.mode == "ratelimit":
            payload = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}'
            self.send_response(429)
            self.send_header("Retry-After", "120")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        conn = http.client.HTTPConnection(self.server.upstream, timeout=60)
        try:
            self._relay(conn, body)
        finally:
            conn.close()

    def _relay(self, conn: http.client.HTTPConnection, body: bytes | None) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        headers["Host"] = self.server.upstream
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        is_blob = (
            self.command == "GET"
            and "/blobs/sha256:" in self.path
            and resp.status
            in (
                200,
                206,
            )
        )
        if is_blob:
            with self.server.lock:
                self.server.blob_requests.append((self.path, self.headers.get("Range")))
        data = resp.read()
        self.send_response(resp.status)
        for key, value in resp.getheaders():
            if key.lower() not in _HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if is_blob and self.server.mode == "cut" and len(data) > 1:
            with self.server.lock:
                first = self.path not in self.server.cut_done
                self.server.cut_done.add(self.path)
            if first:
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.close()
                return
        if is_blob and self.server.mode == "flip" and data:
            middle = len(data) // 2
            data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
        self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _forward


@contextmanager
def misbehaving_proxy(upstream: str, mode: str) -> Iterator[MisbehavingProxy]:
    proxy = MisbehavingProxy(upstream, mode)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(5)
