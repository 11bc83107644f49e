"""S3Driver: the registry's keys as objects in one bucket of an S3-compatible store.

Configured as registry:2's ``storage.s3`` (:mod:`._s3_config`); the connection is one
aiobotocore client on a private loop thread (:mod:`._s3_client`, which says why). What each
operation costs in requests:

- ``reader(key, offset)``: one ranged GET, streamed and read ahead of the caller on the
  client's loop, up to ``READ_AHEAD`` bytes per open reader (:mod:`._s3_reader`).
- ``writer``: a lease (:mod:`._s3_lock`) and a HEAD on open; appends buffered up to
  ``chunksize`` and sent as multipart parts; ``commit()`` completes the object
  (:mod:`._s3_writer`).
- ``move``: a server-side copy (CopyObject, or parallel UploadPartCopy past
  ``multipartcopythresholdsize``) and a DELETE: the bytes never pass through the registry.
- ``delete`` of a prefix: a listing and batched DeleteObjects, and any multipart upload left
  under it (a writer killed mid-request) is aborted.
- ``local_path``: None, so blob GETs stream from ``reader``, or, from a store spoken to over
  plain HTTP, move from ``body_socket``'s own connection to the client with ``splice``
  (:mod:`._s3_direct`).
"""

from __future__ import annotations

import inspect
import io
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.registry.storage._driver import FileInfo
from dockyard.registry.storage._s3_client import S3Client, error_code
from dockyard.registry.storage._s3_config import S3Config
from dockyard.registry.storage._s3_direct import open_body
from dockyard.registry.storage._s3_lock import DEFAULT_TTL, S3Locks
from dockyard.registry.storage._s3_objects import S3Objects
from dockyard.registry.storage._s3_reader import S3ObjectReader
from dockyard.registry.storage._s3_writer import S3Writer

__all__ = ["S3Driver"]

_COMPONENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
#: how often, and how far apart (seconds), a writer tries to take a key another holds
_LOCK_ATTEMPTS = 5
_LOCK_WAIT = 0.05
#: seconds a presigned blob URL stays valid (registry:2's 20 minutes)
REDIRECT_TTL = 20 * 60
#: seconds a presigned URL made for the registry's own direct GET stays valid
DIRECT_TTL = 60
#: seconds to connect to the store and receive a direct GET's response head
DIRECT_TIMEOUT = 30.0
#: keys per DeleteObjects request (S3's limit)
_DELETE_BATCH = 1000


class S3Driver:
    """Stores every key as an object ``<rootdirectory>/<key>`` in ``config.bucket``."""

    #: registry:2's name for this kind of driver (its metrics' ``driver`` label)
    kind = "s3aws"

    def __init__(self, config: S3Config, *, lock_ttl: float = DEFAULT_TTL) -> None:
        self.config = config
        self._prefix = f"{config.rootdirectory}/" if config.rootdirectory else ""
        self._client = S3Client(config)
        self._objects = S3Objects(config)
        self._locks = S3Locks(self._client, self._prefix, lock_ttl)

    def close(self) -> None:
        self._client.close()

    def _name(self, key: str) -> str:
        parts = key.split("/")
        if not all(_COMPONENT.fullmatch(p) and p not in (".", "..") for p in parts):
            raise InvalidArgument(f"invalid storage key {key!r}")
        return self._prefix + key

    # --- reading -------------------------------------------------------------------------

    def reader(self, key: str, offset: int = 0) -> BinaryIO:
        name = self._name(key)

        async def open_body(client: Any) -> Any:
            ranged = {"Range": f"bytes={offset}-"} if offset else {}
            try:
                r = await client.get_object(Bucket=self.config.bucket, Key=name, **ranged)
            except Exception as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    raise NotFound(f"no content at {key}") from None
                if error_code(exc) != "InvalidRange":
                    raise
                # at or past the end: empty if the object is there
                if await self._objects.head(client, name) is None:
                    raise NotFound(f"no content at {key}") from None
                return None
            return r["Body"]

        body = self._client.run(open_body)
        return io.BufferedReader(S3ObjectReader(self._client, body), buffer_size=1 << 20)

    def stat(self, key: str) -> FileInfo | None:
        name = self._name(key)
        info = self._client.run(lambda c: self._objects.head(c, name))
        if info is None:
            return None
        modified = info.get("LastModified")
        mtime = modified.timestamp() if isinstance(modified, datetime) else 0.0
        return FileInfo(key, int(info["ContentLength"]), mtime)

    def list(self, prefix: str) -> Iterator[str]:
        base = self._name(prefix) + "/"
        token: str | None = None
        while True:
            names, token = self._client.run(self._pager(base, token))
            for name in names:
                yield name[len(self._prefix) :]
            if token is None:
                return

    def _pager(
        self, base: str, token: str | None
    ) -> Callable[[Any], Awaitable[tuple[tuple[str, ...], str | None]]]:
        """One page of names under ``base`` from ``token`` on, and the next page's token."""

        async def page(client: Any) -> tuple[tuple[str, ...], str | None]:
            args: dict[str, Any] = {"Bucket": self.config.bucket, "Prefix": base}
            if token:
                args["ContinuationToken"] = token
            r = await client.list_objects_v2(**args)
            names = tuple(str(item["Key"]) for item in r.get("Contents", []))
            more = r.get("NextContinuationToken") if r.get("IsTruncated") else None
            return names, more

        return page

    def local_path(self, key: str) -> Path | None:
        self._name(key)
        return None

    def url_for(self, key: str) -> str | None:
        """A presigned GET of ``key``'s object, valid for ``REDIRECT_TTL`` seconds."""
        return self._presigned(key, REDIRECT_TTL)

    def _presigned(self, key: str, ttl: int) -> str:
        name = self._name(key)

        async def presign(client: Any) -> str:
            url = client.generate_presigned_url(
                "get_object", Params={"Bucket": self.config.bucket, "Key": name}, ExpiresIn=ttl
            )
            if inspect.isawaitable(url):
                url = await url
            return str(url)

        return self._client.run(presign)

    def body_socket(self, key: str, offset: int, length: int) -> socket.socket | None:
        """``length`` bytes of ``key`` from ``offset`` as a connection of their own to the
        store, when it is spoken to over plain HTTP (:mod:`._s3_direct`); else None."""
        endpoint = self.config.endpoint_url()
        if endpoint is None or not endpoint.startswith("http://"):
            return None
        return open_body(self._presigned(key, DIRECT_TTL), offset, length, timeout=DIRECT_TIMEOUT)

    # --- writing -------------------------------------------------------------------------

    def writer(self, key: str, offset: int = 0) -> S3Writer:
        name = self._name(key)
        for attempt in range(_LOCK_ATTEMPTS):
            lease = self._locks.acquire(key)
            if lease is not None:
                return S3Writer.open(
                    self._client, self._objects, self._locks, key, name, offset, lease
                )
            if attempt + 1 < _LOCK_ATTEMPTS:
                time.sleep(_LOCK_WAIT)
        raise Conflict(f"{key} is being written by another request; retry when it has finished")

    def trim(self, key: str, keep: Callable[[], int | None]) -> bool:
        name = self._name(key)
        if self.stat(key) is None:
            return False
        lease = self._locks.acquire(key)
        if lease is None:
            return False
        try:
            size = keep()
            info = self.stat(key)
            if size is None or info is None or info.size <= size:
                return False
            self._client.run(lambda c: self._objects.keep_head(c, name, size))
            return True
        finally:
            self._locks.release(lease)

    def delete(self, key: str) -> None:
        name = self._name(key)
        self._client.run(lambda c: self._delete(c, name))

    async def _delete(self, client: Any, name: str) -> None:
        bucket = self.config.bucket
        await client.delete_object(Bucket=bucket, Key=name)
        names: list[str] = []
        paginator = client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=bucket, Prefix=name + "/"):
            names.extend(item["Key"] for item in page.get("Contents", []))
        for i in range(0, len(names), _DELETE_BATCH):
            batch = [{"Key": n} for n in names[i : i + _DELETE_BATCH]]
            await client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        uploads = await client.list_multipart_uploads(Bucket=bucket, Prefix=name)
        for upload in uploads.get("Uploads", []):
            if upload["Key"] == name or upload["Key"].startswith(name + "/"):
                await client.abort_multipart_upload(
                    Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )

    def move(self, source: str, target: str) -> None:
        src, dst = self._name(source), self._name(target)

        async def move(client: Any) -> None:
            info = await self._objects.head(client, src)
            if info is None:
                raise NotFound(f"no content at {source}")
            await self._objects.copy(client, src, dst, int(info["ContentLength"]))
            await client.delete_object(Bucket=self.config.bucket, Key=src)

        self._client.run(move)
