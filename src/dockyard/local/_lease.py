"""Leases: in-flight work marks the blobs it writes so a concurrent gc leaves them alone."""

from __future__ import annotations

from typing import BinaryIO

from dockyard.content import ContentStore, ContentWriter
from dockyard.digest import Digest
from dockyard.metadata import LeaseRecord, MetadataStore

__all__ = ["Lease"]


class Lease:
    """A lease row in the metadata database with an expiry, so a killed process's lease ends.

    Blobs written through the lease (``writer``/``ingest``/``put_bytes``) are added to it before
    they become visible; other digests can be added with :meth:`add`. Any blob written while
    some lease is live is also kept by gc. The expiry is pushed back as blobs are added.

    Lease rows matter only while the process that holds them lives, so they are written
    without waiting for the disk (atomic, and seen by every other process at once; a power
    loss may undo them, and it ends the lease's process too): publishing a blob costs the
    blob's own syncs, not one more of the database.
    """

    def __init__(
        self,
        metadata: MetadataStore,
        content: ContentStore,
        record: LeaseRecord,
        expires_in: float,
    ) -> None:
        self._metadata = metadata
        self._content = content
        self.id = record.id
        self.created_at = record.created_at
        self._expires_in = expires_in
        self._expires_at = record.expires_at.timestamp()
        self.released = False

    def add(self, digest: Digest) -> None:
        """Keep ``digest`` (present or still to come) until the lease ends."""
        with self._metadata.write(durable=False):
            self._metadata.add_to_lease(self.id, digest)
            if self._metadata.now() > self._expires_at - self._expires_in / 2:
                self.renew()

    def renew(self, expires_in: float | None = None) -> None:
        """Push the expiry to ``expires_in`` seconds (default: the lease's own) from now."""
        seconds = self._expires_in if expires_in is None else expires_in
        self._metadata.renew_lease(self.id, seconds)
        self._expires_at = self._metadata.now() + seconds

    def release(self) -> None:
        if not self.released:
            with self._metadata.write(durable=False):
                self._metadata.release_lease(self.id)
            self.released = True

    def writer(
        self, *, expected: Digest | None = None, size: int | None = None, algorithm: str = "sha256"
    ) -> ContentWriter:
        return self._content.writer(
            expected=expected, size=size, algorithm=algorithm, before_publish=self.add
        )

    def ingest(
        self, stream: BinaryIO, *, expected: Digest | None = None, size: int | None = None
    ) -> tuple[Digest, int]:
        if expected is not None and self._content.exists(expected):
            self.add(expected)
            if self._content.exists(expected):  # still there after the lease took it
                return expected, self._content.size(expected)
        return self._content.ingest(stream, expected=expected, size=size, before_publish=self.add)

    def put_bytes(self, data: bytes, *, expected: Digest | None = None) -> Digest:
        return self._content.put_bytes(data, expected=expected, before_publish=self.add)
