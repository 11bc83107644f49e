"""A blob's bytes as a socket: one presigned GET on a connection of its own.

The S3 client streams a body through Python (aiohttp reads it, the registry's thread copies
it to the client): about a millisecond of CPU per megabyte, which is where a blob GET served
from S3 spends its time. When the store speaks plain HTTP (a store beside the registry, as
SeaweedFS or MinIO usually is), the registry can instead open its own connection, send the
presigned GET, read the response head, and hand the socket over: the HTTP layer then moves the
body to the client with ``splice`` (kernel to kernel, as files go out with ``sendfile``).

Only a response that is exactly what was asked is handed over: status 206 for the range (or
200 for a whole object read from its start), a ``Content-Length`` equal to the bytes wanted,
no transfer coding. Anything else (an error status, a TLS endpoint, a refused connection, a
head that is too long or too slow) is None, and the caller takes the client's streaming path,
which reports errors the usual way.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

__all__ = ["HEAD_LIMIT", "open_body"]

#: bytes a response head may take before the connection is given up
HEAD_LIMIT = 16 << 10


def open_body(url: str, offset: int, length: int, *, timeout: float) -> socket.socket | None:
    """A connected socket whose next ``length`` bytes are the body of ``GET url`` from
    ``offset`` on, or None when that cannot be had (see the module's note). The socket is in
    blocking mode with ``timeout`` set; the caller closes it."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or length <= 0:
        return None
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    host = parts.netloc.rpartition("@")[2]
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {host}\r\n"
        f"Range: bytes={offset}-{offset + length - 1}\r\n"
        "Accept-Encoding: identity\r\nConnection: close\r\nUser-Agent: dockyard\r\n\r\n"
    ).encode("ascii")
    try:
        sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout)
    except OSError:
        return None
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request)
        head = _read_head(sock)
        if head is not None and _is_exactly(head, offset, length):
            return sock
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    sock.close()
    return None


def _read_head(sock: socket.socket) -> bytes | None:
    """The response head, consumed from ``sock`` up to and including its blank line and not a
    byte further (the body stays in the socket for splicing); None when it is too long."""
    seen = b""
    while True:
        seen = sock.recv(HEAD_LIMIT, socket.MSG_PEEK)
        if not seen:
            return None
        end = seen.find(b"\r\n\r\n")
        if end >= 0:
            return _recv_exactly(sock, end + 4)
        if len(seen) >= HEAD_LIMIT:
            return None
        # only part of the head has arrived: wait for more without consuming it
        more = sock.recv(len(seen) + 1, socket.MSG_PEEK | socket.MSG_WAITALL)
        if len(more) <= len(seen):
            return None


def _recv_exactly(sock: socket.socket, count: int) -> bytes:
    chunks: list[bytes] = []
    while count:
        chunk = sock.recv(count)
        if not chunk:
            raise ConnectionError("the store closed the connection in the response head")
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def _is_exactly(head: bytes, offset: int, length: int) -> bool:
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    if len(status) < 2 or not status[0].startswith("HTTP/1."):
        return False
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    if "transfer-encoding" in fields or fields.get("content-length") != str(length):
        return False
    if status[1] == "206":
        return fields.get("content-range", "").startswith(f"bytes {offset}-{offset + length - 1}/")
    return status[1] == "200" and offset == 0
