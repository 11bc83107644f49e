"""Object operations the S3 driver and its writer share (coroutines, run on the client's loop).

Names here are full object names (the root directory's prefix already applied). Multipart
uploads follow S3's rules: parts of 5 MiB to 5 GiB except the last; a head of an object
is carried into a new upload with server-side part copies (``UploadPartCopy``), split evenly
so every copied part stays within those limits.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from dockyard.registry.storage._s3_client import error_code
from dockyard.registry.storage._s3_config import MAX_PART_SIZE, MIN_PART_SIZE, S3Config

__all__ = ["Multipart", "S3Objects", "even_ranges"]


def even_ranges(size: int, most: int, least: int = MIN_PART_SIZE) -> list[tuple[int, int]]:
    """``[start, end)`` ranges covering ``size`` bytes in as many near-equal pieces as ``most``
    asks, but never so many that a piece falls under ``least`` (S3's part minimum: these
    parts are followed by others, so none of them may be small)."""
    if size <= 0:
        return []
    count = min(-(-size // most), max(1, size // least))
    step, extra = divmod(size, count)
    ranges, start = [], 0
    for i in range(count):
        end = start + step + (1 if i < extra else 0)
        ranges.append((start, end))
        start = end
    return ranges


@dataclass(slots=True)
class Multipart:
    """A multipart upload in progress: its id and the parts sent so far."""

    name: str
    upload_id: str
    parts: list[dict[str, Any]]
    size: int = 0


class S3Objects:
    def __init__(self, config: S3Config) -> None:
        self.config = config
        self.bucket = config.bucket

    def _extra(self) -> dict[str, str]:
        """Encryption, storage class and ACL of every object the registry writes."""
        c = self.config
        extra: dict[str, str] = {}
        if c.encrypt:
            extra["ServerSideEncryption"] = "aws:kms" if c.keyid else "AES256"
            if c.keyid:
                extra["SSEKMSKeyId"] = c.keyid
        if c.storageclass != "NONE":
            extra["StorageClass"] = c.storageclass
        if c.objectacl != "private":
            extra["ACL"] = c.objectacl
        return extra

    async def head(self, client: Any, name: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await client.head_object(Bucket=self.bucket, Key=name)
        except Exception as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return result

    async def get(self, client: Any, name: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of ``name`` (``end > start``)."""
        r = await client.get_object(Bucket=self.bucket, Key=name, Range=f"bytes={start}-{end - 1}")
        async with r["Body"] as body:
            data: bytes = await body.read()
        return data

    async def put(self, client: Any, name: str, data: bytes | bytearray) -> None:
        await client.put_object(Bucket=self.bucket, Key=name, Body=bytes(data), **self._extra())

    async def start(self, client: Any, name: str) -> Multipart:
        r = await client.create_multipart_upload(Bucket=self.bucket, Key=name, **self._extra())
        return Multipart(name, r["UploadId"], [])

    async def send_part(self, client: Any, upload: Multipart, data: bytes | bytearray) -> None:
        number = len(upload.parts) + 1
        r = await client.upload_part(
            Bucket=self.bucket, Key=upload.name, UploadId=upload.upload_id,
            PartNumber=number, Body=bytes(data),
        )  # fmt: skip
        upload.parts.append({"PartNumber": number, "ETag": r["ETag"]})
        upload.size += len(data)

    async def copy_parts(self, client: Any, upload: Multipart, source: str, size: int) -> None:
        """Append bytes ``[0, size)`` of ``source`` to ``upload`` by server-side part copies
        (``size`` at least 5 MiB, so every copied part is too), several at once."""
        assert size >= MIN_PART_SIZE or not upload.parts
        most = min(self.config.multipartcopychunksize, MAX_PART_SIZE)
        ranges = even_ranges(size, most)
        first = len(upload.parts) + 1
        limit = asyncio.Semaphore(self.config.multipartcopymaxconcurrency)

        async def copy(number: int, start: int, end: int) -> dict[str, Any]:
            async with limit:
                r = await client.upload_part_copy(
                    Bucket=self.bucket, Key=upload.name, UploadId=upload.upload_id,
                    PartNumber=number, CopySource={"Bucket": self.bucket, "Key": source},
                    CopySourceRange=f"bytes={start}-{end - 1}",
                )  # fmt: skip
            return {"PartNumber": number, "ETag": r["CopyPartResult"]["ETag"]}

        parts = await asyncio.gather(
            *(copy(first + i, start, end) for i, (start, end) in enumerate(ranges))
        )
        upload.parts.extend(parts)
        upload.size += size

    async def complete(self, client: Any, upload: Multipart) -> None:
        await client.complete_multipart_upload(
            Bucket=self.bucket, Key=upload.name, UploadId=upload.upload_id,
            MultipartUpload={"Parts": upload.parts},
        )  # fmt: skip

    async def abort(self, client: Any, upload: Multipart) -> None:
        try:
            await client.abort_multipart_upload(
                Bucket=self.bucket, Key=upload.name, UploadId=upload.upload_id
            )
        except Exception as exc:
            if error_code(exc) not in ("NoSuchUpload", "404"):
                raise

    async def keep_head(self, client: Any, name: str, size: int) -> None:
        """Make ``name`` hold only its first ``size`` bytes (a truncation)."""
        if size < MIN_PART_SIZE:
            data = await self.get(client, name, 0, size) if size else b""
            await self.put(client, name, data)
            return
        upload = await self.start(client, name)
        try:
            await self.copy_parts(client, upload, name, size)
            await self.complete(client, upload)
        except BaseException:
            await self.abort(client, upload)
            raise

    async def copy(self, client: Any, source: str, target: str, size: int) -> None:
        """``source``'s bytes at ``target``: one CopyObject below the multipart threshold,
        parallel part copies above it (and always above 5 GiB, S3's single-copy limit)."""
        threshold = min(self.config.multipartcopythresholdsize, MAX_PART_SIZE)
        if size < max(threshold, MIN_PART_SIZE):
            await client.copy_object(
                Bucket=self.bucket, Key=target,
                CopySource={"Bucket": self.bucket, "Key": source}, **self._extra(),
            )  # fmt: skip
            return
        upload = await self.start(client, target)
        try:
            await self.copy_parts(client, upload, source, size)
            await self.complete(client, upload)
        except BaseException:
            await self.abort(client, upload)
            raise
