"""Writer locks on S3: leases held as small objects, taken with conditional writes.

A lease on key ``k`` is the object ``<root>/_dockyard/locks/k`` holding who took it and until
when. It is created with ``If-None-Match: *`` (so exactly one of several racing processes,
on any machine, gets it), renewed by its holder every third of its time to live with
``If-Match`` on the etag it last wrote, and deleted with ``If-Match`` on release. A lease
whose time has passed (its holder died: ``kill -9``, a lost machine) is taken over with
``If-Match`` on the etag read, so two takers cannot both win. Expiry compares the holder's
clock with the taker's: replicas' clocks must agree to well within the time to live (NTP).

The objects live outside the layout's prefixes (``blobs``, ``uploads``, ``quarantine``), so
listings never see them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import Unavailable
from dockyard.registry.storage._s3_client import S3Client, error_code

__all__ = ["LOCK_PREFIX", "Lease", "S3Locks"]

LOCK_PREFIX = "_dockyard/locks"
#: seconds a lease lives without renewal (a dead holder's key is free again after this)
DEFAULT_TTL = 30.0


@dataclass(slots=True)
class Lease:
    """A held lock; ``lost`` once a renewal found it taken over (the holder must stop)."""

    key: str
    etag: str
    token: str
    lost: bool = False
    renewal: concurrent.futures.Future[None] | None = field(default=None, repr=False)
    #: held (on the client's loop) around a renewal's write and the release, so a release
    #: never races a renewal in flight and always deletes with the etag last written
    busy: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)


class S3Locks:
    def __init__(self, client: S3Client, root: str, ttl: float = DEFAULT_TTL) -> None:
        self._client = client
        self._root = root
        self.ttl = ttl

    def _object(self, key: str) -> str:
        return f"{self._root}{LOCK_PREFIX}/{key}"

    def _body(self, token: str) -> bytes:
        return json.dumps({"token": token, "expires": time.time() + self.ttl}).encode()

    def acquire(self, key: str) -> Lease | None:
        """The lease on ``key``, or None while another live holder has it."""
        lease = self._client.run(lambda c: self._acquire(c, key))
        if lease is not None:
            lease.renewal = self._client.submit(lambda c: self._renew(c, lease))
        return lease

    async def _acquire(self, client: Any, key: str) -> Lease | None:
        bucket, name = self._client.config.bucket, self._object(key)
        token = uuid.uuid4().hex
        for _ in range(3):
            try:
                r = await client.put_object(
                    Bucket=bucket, Key=name, Body=self._body(token), IfNoneMatch="*"
                )
                return Lease(key, r["ETag"], token)
            except Exception as exc:
                if error_code(exc) not in ("PreconditionFailed", "ConditionalRequestConflict"):
                    raise
            try:
                held = await client.get_object(Bucket=bucket, Key=name)
                async with held["Body"] as body:
                    text = await body.read()
            except Exception as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    continue  # released in between: try to create it again
                raise
            if not _expired(text):
                return None
            try:
                r = await client.put_object(
                    Bucket=bucket, Key=name, Body=self._body(token), IfMatch=held["ETag"]
                )
                return Lease(key, r["ETag"], token)
            except Exception as exc:
                if error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict"):
                    return None  # another taker won
                if error_code(exc) in ("NoSuchKey", "404"):
                    continue
                raise
        return None

    async def _renew(self, client: Any, lease: Lease) -> None:
        bucket, name = self._client.config.bucket, self._object(lease.key)
        while True:
            await asyncio.sleep(self.ttl / 3)
            async with lease.busy:
                if lease.lost:
                    return
                try:
                    r = await client.put_object(
                        Bucket=bucket, Key=name, Body=self._body(lease.token), IfMatch=lease.etag
                    )
                except Exception as exc:
                    if error_code(exc) in ("PreconditionFailed", "NoSuchKey", "404"):
                        lease.lost = True
                        return
                    continue  # a passing failure: the next renewal is still in time
                lease.etag = r["ETag"]

    def release(self, lease: Lease) -> None:
        bucket, name = self._client.config.bucket, self._object(lease.key)

        async def delete(client: Any) -> None:
            async with lease.busy:
                if lease.renewal is not None:
                    lease.renewal.cancel()
                if lease.lost:
                    return
                lease.lost = True
                try:
                    await client.delete_object(Bucket=bucket, Key=name, IfMatch=lease.etag)
                except Exception as exc:
                    if error_code(exc) not in ("PreconditionFailed", "NoSuchKey", "404"):
                        raise

        # the lease expires by itself: a store that fails the release costs a wait, no more
        with contextlib.suppress(Unavailable):
            self._client.run(delete)
        lease.lost = True


def _expired(text: bytes) -> bool:
    try:
        expires = float(json.loads(text)["expires"])
    except (ValueError, KeyError, TypeError):
        return True  # not a lease this code wrote: unreadable, so nobody can renew it
    return expires < time.time()
