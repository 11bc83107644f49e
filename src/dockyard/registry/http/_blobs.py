"""GET/HEAD/DELETE /v2/<name>/blobs/<digest>, with single byte ranges (206/416)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
from typing import Any

from dockyard.errors import RangeNotSatisfiable
from dockyard.registry._names import parse_digest
from dockyard.registry._registry import BlobHandle, Registry
from dockyard.registry.http._io import (
    API_VERSION,
    ClientGone,
    MethodNotAllowed,
    Request,
    send_bytes,
)
from dockyard.registry.http._protocol import ZEROCOPY_SEND, ClientStalled

__all__ = ["delete_blob", "get_blob"]

#: Bytes per read when streaming a blob (a read of the next chunk overlaps sending this one).
CHUNK = 4 << 20
#: Bodies at least this long go out with sendfile when the server offers zero-copy sends.
ZEROCOPY_MIN = 256 << 10
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def parse_range(header: str, size: int) -> tuple[int, int]:
    """``(start, end)`` inclusive for a single-range header; 416 when it cannot be served."""
    m = _RANGE.fullmatch(header.strip())
    if m is None or (not m.group(1) and not m.group(2)):
        raise RangeNotSatisfiable(
            f"invalid Range {header!r}: use one range, e.g. 'bytes=0-1023'", detail={"size": size}
        )
    first, last = m.group(1), m.group(2)
    if not first:  # suffix: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise RangeNotSatisfiable(f"Range {header!r} selects no bytes of a {size}-byte blob")
        return max(0, size - n), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(
            f"Range {header!r} is outside the blob's {size} bytes", detail={"size": size}
        )
    return start, min(end, size - 1)


async def get_blob(request: Request, registry: Registry, name: str, digest_text: str) -> None:
    digest = parse_digest(digest_text)
    head = request.method == "HEAD"
    zerocopy = ZEROCOPY_SEND in request.scope.get("extensions", ())
    # a GET whose bytes may come from the object store's own connection asks the store once:
    # that GET answering the exact range proves the bytes are there (no stat first)
    spliceable = not head and zerocopy and not registry.redirect
    blob = await request.run(registry.blob, name, digest, touch=head, stored=not spliceable)
    if spliceable and (blob.path is not None or blob.size <= request.limits.verify_read_bytes):
        await request.run(registry.require_stored, blob, name)
        spliceable = False
    if not head and registry.redirect:  # the bytes from the object store, not through here
        url = await request.run(registry.blob_url, blob)
        if url is not None:
            await send_bytes(
                request.send,
                307,
                headers=[
                    (b"location", url.encode()),
                    (b"docker-content-digest", str(digest).encode()),
                ],
            )
            return
    headers = [
        (b"docker-content-digest", str(digest).encode()),
        (b"etag", f'"{digest}"'.encode()),
        (b"accept-ranges", b"bytes"),
        (b"cache-control", b"max-age=31536000"),
    ]
    status, start, end = 200, 0, blob.size - 1
    range_header = request.header("range")
    if range_header is not None:
        try:
            start, end = parse_range(range_header, blob.size)
        except RangeNotSatisfiable:
            headers.append((b"content-range", f"bytes */{blob.size}".encode()))
            await send_bytes(request.send, 416, b"", headers)
            return
        status = 206
        headers.append((b"content-range", f"bytes {start}-{end}/{blob.size}".encode()))
    length = end - start + 1
    body: bytes | None = None
    source: socket.socket | None = None
    if not head and length and blob.size <= request.limits.verify_read_bytes:
        # small blobs are hashed before a byte leaves (BLOB_UNKNOWN when corrupt); larger
        # ones stay on the zero-copy path, and `dockyard registry fsck` checks them
        body = (await request.run(registry.verified_bytes, blob))[start : end + 1]
    elif not head and zerocopy and length >= ZEROCOPY_MIN and blob.path is None:
        # an object store's own connection, spliced to the client's (None: stream it)
        source = await request.run(blob.body_socket, start, length)
    if spliceable and source is None:  # not spliced: make sure the bytes are there first
        await request.run(registry.require_stored, blob, name)
    out = [
        API_VERSION,
        *headers,
        (b"content-type", b"application/octet-stream"),
        (b"content-length", str(length).encode()),
    ]
    try:
        await request.send({"type": "http.response.start", "status": status, "headers": out})
        if head or length == 0:
            await request.send({"type": "http.response.body", "body": b""})
            return
        if body is not None:
            await request.send({"type": "http.response.body", "body": body})
            return
        if source is not None:
            await _send_zerocopy(request, source, 0, length)
        elif zerocopy and length >= ZEROCOPY_MIN and blob.path is not None:
            f = await request.run(blob.open)
            with f:
                await _send_zerocopy(request, f, start, length)
        else:
            await _stream(request, blob, start, length)
    finally:
        if source is not None:
            source.close()


async def _send_zerocopy(request: Request, source: Any, offset: int, length: int) -> None:
    """The body from a file (sendfile) or the store's socket (splice) straight to the
    client's socket, never through Python."""
    message = {"type": ZEROCOPY_SEND, "file": source, "offset": offset, "count": length}
    try:
        await request.send(message)
    except (ConnectionError, ClientStalled):
        raise ClientGone() from None


async def _stream(request: Request, blob: BlobHandle, start: int, length: int) -> None:
    loop = asyncio.get_running_loop()
    pos, end = start, start + length
    if blob.path is None:  # an object store: one ranged read from ``start``, in order
        f = await request.run(blob.open, start)

        def read(offset: int) -> bytes:
            return f.read(min(CHUNK, end - offset))

    else:
        f = await request.run(blob.open)
        fd = f.fileno()

        def read(offset: int) -> bytes:
            return os.pread(fd, min(CHUNK, end - offset), offset)

    pending: asyncio.Future[bytes] | None = loop.run_in_executor(request.executor, read, pos)
    try:
        while pending is not None:
            chunk = await pending
            pending = None
            if not chunk:
                raise OSError(f"blob {blob.digest} is shorter than its recorded size")
            pos += len(chunk)
            if pos < end:
                pending = loop.run_in_executor(request.executor, read, pos)
            await request.send(
                {"type": "http.response.body", "body": chunk, "more_body": pos < end}
            )
    finally:
        if pending is not None:  # never close the file under a read still running
            with contextlib.suppress(Exception):
                await pending
        f.close()


async def delete_blob(request: Request, registry: Registry, name: str, digest_text: str) -> None:
    digest = parse_digest(digest_text)
    if not registry.delete_enabled:
        raise MethodNotAllowed("deleting is disabled on this registry (storage.delete.enabled)")
    await request.run(registry.delete_blob, name, digest)
    await send_bytes(request.send, 202, b"", [(b"docker-content-digest", str(digest).encode())])
