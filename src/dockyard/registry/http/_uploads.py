"""Blob uploads: POST (start, single request, mount), PATCH (chunks), PUT (finish),
GET (status) and DELETE (cancel) under /v2/<name>/blobs/uploads/."""

from __future__ import annotations

import asyncio
import contextlib
import re

from dockyard.digest import Digest
from dockyard.errors import BlobUploadInvalid, DigestInvalid, RangeNotSatisfiable, SizeInvalid
from dockyard.registry._access import can_read
from dockyard.registry._names import check_name, parse_digest
from dockyard.registry._push_guard import PushGuard
from dockyard.registry._registry import Registry
from dockyard.registry._uploads import UploadWriter
from dockyard.registry.http._io import ClientGone, PayloadTooLarge, Request, send_bytes

__all__ = ["cancel_upload", "finish_upload", "patch_upload", "start_upload", "upload_status"]

#: Bytes gathered from the socket before one write to storage.
CHUNK = 1 << 20
_CONTENT_RANGE = re.compile(r"(?:bytes )?(\d+)-(\d+)(?:/(?:\d+|\*))?")


def _upload_headers(name: str, upload_id: str, offset: int) -> list[tuple[bytes, bytes]]:
    return [
        (b"location", f"/v2/{name}/blobs/uploads/{upload_id}".encode()),
        (b"range", f"0-{max(offset - 1, 0)}".encode()),
        (b"docker-upload-uuid", upload_id.encode()),
    ]


def _blob_created(name: str, digest: Digest) -> list[tuple[bytes, bytes]]:
    return [
        (b"location", f"/v2/{name}/blobs/{digest}".encode()),
        (b"docker-content-digest", str(digest).encode()),
    ]


def _required_digest(request: Request) -> Digest:
    text = request.query("digest")
    if not text:
        raise DigestInvalid("the upload needs ?digest=<algorithm:hex> to finish it")
    return parse_digest(text)


async def _receive_into(request: Request, writer: UploadWriter) -> int:
    """Stream the request body into ``writer``; the number of bytes received. Writes to disk
    run in threads and overlap receiving the next bytes."""
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[None] | None = None
    buffer = bytearray()
    total = 0
    room = request.limits.blob_bytes - writer.start  # what this blob may still grow by
    declared = request.content_length()
    if declared is not None and declared > room:
        raise _blob_too_large(request, writer.start + declared)
    try:
        more = True
        while more:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            body = message.get("body", b"")
            more = message.get("more_body", False)
            buffer += body
            total += len(body)
            if total > room:
                raise _blob_too_large(request, writer.start + total)
            if len(buffer) >= CHUNK or (not more and buffer):
                data = bytes(buffer)
                buffer.clear()
                if pending is not None:
                    await pending
                pending = loop.run_in_executor(request.executor, writer.write, data)
        if pending is not None:
            await pending
            pending = None
    finally:
        if pending is not None:
            with contextlib.suppress(Exception):  # the first error is the one that matters
                await pending
    return total


def _blob_too_large(request: Request, size: int) -> PayloadTooLarge:
    limit = request.limits.blob_bytes
    return PayloadTooLarge(
        f"the blob would be at least {size} bytes, more than the {limit} bytes allowed",
        hint="raise the limit with the config key limits.blobbytes",
    )


async def _append(request: Request, writer: UploadWriter) -> int:
    """Receive a body into ``writer`` and acknowledge it; the new offset. On failure the
    session keeps its previous offset (the partial bytes are dropped on the next write)."""
    try:
        declared = request.content_length()
        received = await _receive_into(request, writer)
        if declared is not None and received != declared:
            raise SizeInvalid(f"received {received} bytes, Content-Length said {declared}")
        return await request.run(writer.done)
    except BaseException:
        await request.run(writer.abort)
        raise


def _chunk_start(request: Request) -> int | None:
    text = request.header("content-range")
    if text is None:
        return None
    m = _CONTENT_RANGE.fullmatch(text.strip())
    if m is None:
        raise RangeNotSatisfiable(f"invalid Content-Range {text!r}: use '<start>-<end>'")
    start, end = int(m.group(1)), int(m.group(2))
    length = request.content_length()
    if end < start or (length is not None and length != end - start + 1):
        raise RangeNotSatisfiable(f"Content-Range {text!r} does not match Content-Length {length}")
    return start


async def start_upload(request: Request, registry: Registry, name: str) -> None:
    mount = request.query("mount")
    if mount is not None:
        if await _mounted(request, registry, name, parse_digest(mount)):
            return
    elif request.query("digest") is not None:
        await _single_request(request, registry, name, _required_digest(request))
        return
    upload_id = await request.run(registry.uploads.start, name)
    await send_bytes(request.send, 202, b"", _upload_headers(name, upload_id, 0))


async def _mounted(request: Request, registry: Registry, name: str, digest: Digest) -> bool:
    """Link ``digest`` from the repository ``from`` names into ``name`` (201) when ``from`` has
    it and the caller may read ``from``; False otherwise, and the caller starts a normal upload
    (202), as registry:2 does. A mount without ``from`` never links: linking any blob the
    registry holds would tell a client what repositories it cannot read contain."""
    source = request.query("from")
    if not source:
        return False
    check_name(source)
    if not can_read(request.user, source, request.access):
        return False
    if await request.run(registry.mount_blob, name, digest, source) is None:
        return False
    await send_bytes(request.send, 201, b"", _blob_created(name, digest))
    return True


async def _single_request(request: Request, registry: Registry, name: str, digest: Digest) -> None:
    uploads = registry.uploads
    upload_id = await request.run(uploads.start, name, persistent=False)
    try:
        writer = uploads.open_unrecorded(upload_id)
        size = await _append(request, writer)
        await request.run(uploads.finish, name, upload_id, digest, size)
    except BaseException:
        await request.run(uploads.cancel, upload_id)
        raise
    await send_bytes(request.send, 201, b"", _blob_created(name, digest))


async def patch_upload(request: Request, registry: Registry, name: str, upload_id: str) -> None:
    request.content_length()  # a bad header fails here, before the session is opened
    start = _chunk_start(request)
    writer = await request.run(registry.uploads.open, name, upload_id, start)
    offset = await _append(request, writer)
    await send_bytes(request.send, 202, b"", _upload_headers(name, upload_id, offset))


async def finish_upload(
    request: Request,
    registry: Registry,
    name: str,
    upload_id: str,
    guard: PushGuard | None = None,
) -> None:
    digest = _required_digest(request)
    length = request.content_length()
    start = _chunk_start(request)
    uploads = registry.uploads
    if length or request.header("transfer-encoding"):
        writer = await request.run(uploads.open, name, upload_id, start)
        size = await _append(request, writer)
    else:
        size = await request.run(uploads.offset, name, upload_id)
    if guard is not None:  # e.g. the project's quota; the session stays, to be cancelled
        await request.run(guard.check_blob, name, str(digest), size)
    await request.run(uploads.finish, name, upload_id, digest, size)
    await send_bytes(request.send, 201, b"", _blob_created(name, digest))


async def upload_status(request: Request, registry: Registry, name: str, upload_id: str) -> None:
    offset = await request.run(registry.uploads.offset, name, upload_id)
    await send_bytes(request.send, 204, b"", _upload_headers(name, upload_id, offset))


async def cancel_upload(request: Request, registry: Registry, name: str, upload_id: str) -> None:
    await request.run(registry.uploads.offset, name, upload_id)
    if not await request.run(registry.uploads.cancel, upload_id):
        raise BlobUploadInvalid(f"upload {upload_id} was already finished or cancelled")
    await send_bytes(request.send, 204)
