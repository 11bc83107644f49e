"""A build's store lease, taken when the build first holds or writes a blob.

Every layer the build takes from its cache is held through the lease before the build relies
on it (:meth:`LazyLease.hold`: added to the lease, then looked for), so the store's gc — a
concurrent ``dockyard rmi`` or ``image prune`` — either sees the lease and keeps the layer, or
removed it before, and the cache record is a miss. These lease writes matter only while the
build runs, so they are not synced to disk (a fraction of a millisecond each); a build that
uses no blob (``FROM scratch`` with only empty steps) takes no lease. Digests added in one
:meth:`add_all` share one metadata transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from dockyard.digest import Digest
    from dockyard.local import Lease, LocalStore

__all__ = ["LazyLease"]


class LazyLease:
    """The part of :class:`dockyard.local.Lease` a build uses, created on first use."""

    def __init__(self, store: LocalStore, description: str = "build") -> None:
        self._store = store
        self._description = description
        self._lease: Lease | None = None
        self._scope: AbstractContextManager[Lease] | None = None
        self._lock = threading.Lock()

    @property
    def taken(self) -> bool:
        return self._lease is not None

    def _get(self) -> Lease:
        with self._lock:
            if self._lease is None:
                with self._store.metadata.write(durable=False):
                    self._scope = self._store.lease(description=self._description)
                    self._lease = self._scope.__enter__()
            return self._lease

    def add(self, digest: Digest) -> None:
        self._get().add(digest)

    def hold(self, digest: Digest) -> bool:
        """Keep ``digest`` until the build ends, if it is in the store; False when it is not
        (a gc took it before the lease had it)."""
        lease = self._get()  # not inside the transaction: _get takes its lock first
        with self._store.metadata.write(durable=False):
            lease.add(digest)
        return self._store.content.exists(digest)

    def add_all(self, digests: Iterable[Digest]) -> None:
        """Add several digests in one metadata transaction."""
        wanted = list(dict.fromkeys(digests))
        if not wanted:
            return
        lease = self._get()
        with self._store.metadata.write():
            for digest in wanted:
                lease.add(digest)

    def put_bytes(self, data: bytes, *, expected: Digest | None = None) -> Digest:
        return self._get().put_bytes(data, expected=expected)

    def ingest(
        self, stream: BinaryIO, *, expected: Digest | None = None, size: int | None = None
    ) -> tuple[Digest, int]:
        return self._get().ingest(stream, expected=expected, size=size)

    def release(self) -> None:
        with self._lock:
            if self._scope is not None:
                with self._store.metadata.write(durable=False):
                    self._scope.__exit__(None, None, None)
            self._scope = self._lease = None

    def __enter__(self) -> LazyLease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
