"""Registry: the service object behind the HTTP API (synchronous, blocking-safe).

The HTTP layer calls it from worker threads; cached reads (``cached_manifest``,
``cached_tags``) are plain dictionary lookups it may call on the event loop.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from dockyard.digest import Digest, Digester
from dockyard.errors import BlobUnknown, ManifestUnknown, NameUnknown, NotFound
from dockyard.oci import mediatypes
from dockyard.registry._cache import NoCache, RegistryCache
from dockyard.registry._manifests import check_manifest
from dockyard.registry._names import check_tag, is_digest, parse_tags
from dockyard.registry._push_guard import PushGuard
from dockyard.registry._quarantine import quarantine_blob
from dockyard.registry._shared import Generations, SharedGenerations
from dockyard.registry._uploads import BlobUploads
from dockyard.registry._validation import IndexValidation
from dockyard.registry.metadata import (
    Database,
    DatabaseSettings,
    GCQueries,
    Inventory,
    ManifestRecord,
    RegistryMetadata,
)
from dockyard.registry.migrations import prepare
from dockyard.registry.storage import FilesystemDriver, S3Config, StorageDriver, blob_key

if TYPE_CHECKING:
    from dockyard.registry.redis import RedisConfig

__all__ = ["BlobHandle", "PullPolicy", "PushedManifest", "Registry"]

log = logging.getLogger("dockyard.registry")

#: The file (in the data directory) holding the change counters processes share.
SHARED_GENERATIONS = "cache-generations"


class PullPolicy(Protocol):
    """Decides whether a manifest may be served (e.g. signature enforcement)."""

    def applies(self, repository: str) -> bool:
        """Whether ``check`` has anything to say about ``repository`` (cheap, on the loop)."""
        ...

    def check(
        self, registry: Registry, repository: str, reference: str, record: ManifestRecord
    ) -> None:
        """Raise a Denied error to refuse serving ``record`` (blocking; run in a thread)."""
        ...


@dataclass(frozen=True, slots=True)
class BlobHandle:
    """Where to read a blob from: a local path (zero-copy) or the driver."""

    digest: Digest
    size: int
    path: Path | None
    storage: StorageDriver

    def open(self, offset: int = 0) -> BinaryIO:
        return self.storage.reader(blob_key(self.digest), offset)

    def body_socket(self, offset: int, length: int) -> socket.socket | None:
        """The bytes as a socket of their own, when the driver has one (see
        :meth:`StorageDriver.body_socket`)."""
        return self.storage.body_socket(blob_key(self.digest), offset, length)


@dataclass(frozen=True, slots=True)
class PushedManifest:
    digest: str
    subject: str | None
    #: the tags now pointing at it (the URL's tag, or the ``?tag=`` parameters)
    tags: tuple[str, ...] = ()


class Registry:
    """Blobs, uploads, manifests, tags, catalog and referrers of one registry."""

    def __init__(
        self,
        storage: StorageDriver,
        meta: RegistryMetadata,
        *,
        delete_enabled: bool = True,
        cache: bool = True,
        shared: Generations | None = None,
        index_validation: IndexValidation | None = None,
    ) -> None:
        self.storage = storage
        self.meta = meta
        self.uploads = BlobUploads(storage, meta)
        self.delete_enabled = delete_enabled
        #: change counters shared with the other processes serving the same data directory
        self.shared = shared
        self.cache: RegistryCache = RegistryCache(shared=shared) if cache else NoCache()
        self._seen_generation = GCQueries(meta.db).generation()
        #: checked before a manifest is served by GET or HEAD; pushes are never checked
        self.pull_policy: PullPolicy | None = None
        #: which children of a pushed index must be here already (default: all of them)
        self.index_validation = index_validation or IndexValidation()
        #: asked around every change a client or a job makes (quotas, immutable tags…): the
        #: ``/v2/`` handlers, the Harbor API and server-side jobs consult it; None: no guard
        self.guard: PushGuard | None = None
        #: answer blob GETs with a redirect to the storage's own URL where it has one
        #: (registry:2's ``storage.redirect``; a presigned URL on S3)
        self.redirect = False

    @classmethod
    def open(
        cls,
        root: Path,
        *,
        database: str | DatabaseSettings | None = None,
        delete_enabled: bool = True,
        cache: bool = True,
        index_validation: IndexValidation | None = None,
        redis: RedisConfig | None = None,
        s3: S3Config | None = None,
    ) -> Registry:
        """A registry keeping blobs under ``root`` and metadata in ``root/registry.db``
        (or ``database``, an SQLAlchemy URL). Every process opening ``root`` shares the
        change counters in ``root/cache-generations``, so their caches stay coherent; with ``redis``, the counters live in
        Redis instead, shared by every replica using it."""
        root = Path(root)
        storage: StorageDriver = FilesystemDriver(root)
        if s3 is not None:  # blobs in the bucket; root keeps only the local state
            from dockyard.registry.storage.s3 import S3Driver

            storage = S3Driver(s3)
        if isinstance(database, DatabaseSettings) and database.url is None:
            database = None
        db = Database(database or root / "registry.db")
        try:  # the schema first: embedded SQLite is migrated, PostgreSQL must be current
            prepare(db)
        except BaseException:
            db.close()
            raise
        shared: Generations | None = None
        if cache and redis is not None:
            from dockyard.registry.redis.client import connect
            from dockyard.registry.redis.generations import RedisGenerations

            shared = RedisGenerations(connect(redis), redis.prefix)
        elif cache:
            shared = SharedGenerations(root / SHARED_GENERATIONS)
        return cls(
            storage,
            RegistryMetadata(db),
            delete_enabled=delete_enabled,
            cache=cache,
            shared=shared,
            index_validation=index_validation,
        )

    def close(self) -> None:
        self.meta.db.close()
        if self.shared is not None:
            self.shared.close()
        close_storage = getattr(self.storage, "close", None)  # the S3 driver's connections
        if close_storage is not None:
            close_storage()

    def _changed(self, repository: str) -> None:
        """After a committed write: drop cached reads here and in every other process."""
        self.cache.invalidate(repository)
        if self.shared is not None:
            self.shared.bump(repository)

    def sync_cache(self) -> None:
        """Drop cached reads when another process (garbage collection) changed the database."""
        generation = GCQueries(self.meta.db).generation()
        if generation != self._seen_generation:
            self._seen_generation = generation
            self.cache.clear()

    # --- blobs ---------------------------------------------------------------------------

    def blob(
        self, repository: str, digest: Digest, *, touch: bool = False, stored: bool = True
    ) -> BlobHandle:
        """Where ``repository``'s blob ``digest`` is (BLOB_UNKNOWN when it has none).
        ``touch`` refreshes the link first: a push asking whether a blob exists (HEAD) will
        rely on the answer, so a garbage collection running now must keep it. ``stored``
        (default): check that the bytes are in the storage too (a record can outlive them:
        see :meth:`_uploads.Uploads._publish`); False leaves that to the caller, which reads
        them at once and calls :meth:`require_stored` when they do not come."""
        if touch:
            size = self.meta.touch_blob(repository, str(digest))
        else:
            size = self.meta.blob_size(repository, str(digest))
        if size is None:
            raise BlobUnknown(f"blob {digest} is unknown to {repository}")
        key = blob_key(digest)
        found = BlobHandle(digest, size, self.storage.local_path(key), self.storage)
        if stored:
            self.require_stored(found, repository)
        return found

    def require_stored(self, blob: BlobHandle, repository: str) -> None:
        """BLOB_UNKNOWN unless ``blob``'s bytes are in the storage."""
        if self.storage.stat(blob_key(blob.digest)) is None:
            raise BlobUnknown(f"blob {blob.digest} is unknown to {repository}")

    def blob_url(self, blob: BlobHandle) -> str | None:
        """Where a client may fetch ``blob`` itself (redirects on), else None."""
        return self.storage.url_for(blob_key(blob.digest)) if self.redirect else None

    def verified_bytes(self, blob: BlobHandle) -> bytes:
        """The whole of a small blob, checked against its digest. A mismatch (bit rot, a bad
        disk, an edit behind the registry's back) is logged, the blob is quarantined, and the
        answer is BLOB_UNKNOWN: the client then pushes it again, rather than pulling bad bytes
        (a 500 would hide which blob is bad and keep failing every pull)."""
        with blob.open() as f:
            data = f.read(blob.size + 1)
        digester = Digester(blob.digest.algorithm)
        digester.update(data)
        actual = digester.digest()
        if actual == blob.digest and len(data) == blob.size:
            return data
        where = self.quarantine_blob(blob.digest)
        log.error(
            "blob %s is corrupt on disk: %d bytes hashing to %s (recorded: %d bytes); moved "
            "to %s and forgotten, so clients push it again — run `dockyard registry fsck` "
            "to check the other blobs",
            blob.digest,
            len(data),
            actual,
            blob.size,
            where or "nowhere (it was gone already)",
        )
        raise BlobUnknown(f"blob {blob.digest} is unknown: its stored copy was corrupt")

    def quarantine_blob(self, digest: Digest) -> str | None:
        """Move ``digest``'s bytes aside and forget it everywhere (see ``_quarantine``)."""
        return quarantine_blob(self.storage, self.meta, digest)

    def delete_blob(self, repository: str, digest: Digest) -> None:
        if not self.meta.unlink_blob(repository, str(digest)):
            raise BlobUnknown(f"blob {digest} is unknown to {repository}")

    def mount_blob(self, repository: str, digest: Digest, source: str) -> int | None:
        """Link into ``repository`` a blob ``source`` has; its size, or None when ``source``
        has no such blob (the caller checks that the client may read ``source``)."""
        if self.storage.stat(blob_key(digest)) is None:
            return None
        return self.meta.link_blob(repository, str(digest), source)

    # --- manifests -----------------------------------------------------------------------

    def manifest(self, repository: str, reference: str) -> ManifestRecord:
        cached = self.cache.manifest(repository, reference)
        if cached is not None:
            return cached
        generation = self.cache.generation(repository)
        if is_digest(reference):
            record = self.meta.manifest_by_digest(repository, reference)
        else:
            record = self.meta.manifest_by_tag(repository, reference)
        if record is None:
            raise ManifestUnknown(f"manifest {reference} is unknown to {repository}")
        self.cache.put_manifest(repository, reference, record, generation)
        return record

    def cached_manifest(self, repository: str, reference: str) -> ManifestRecord | None:
        return self.cache.manifest(repository, reference)

    def put_manifest(
        self,
        repository: str,
        reference: str,
        body: bytes,
        content_type: str | None,
        tags: Iterable[str] = (),
    ) -> PushedManifest:
        """Store a pushed manifest under ``reference`` (a tag or its digest). ``tags`` (only
        with a digest) are applied with it, in the same transaction; one invalid tag fails
        the push and nothing is stored."""
        applied = parse_tags(reference, tags)
        if not is_digest(reference):
            applied = (check_tag(reference),)
        new = check_manifest(
            self.meta,
            repository,
            reference,
            body,
            content_type,
            self.storage,
            self.index_validation,
        )
        self.cache.invalidate(repository)
        try:
            self.meta.put_manifest(repository, new, applied)
        finally:
            self._changed(repository)
        return PushedManifest(new.digest, new.subject, applied)

    def delete_manifest(self, repository: str, reference: str) -> None:
        self.cache.invalidate(repository)
        try:
            if is_digest(reference):
                found = self.meta.delete_manifest(repository, reference)
            else:
                found = self.meta.delete_tag(repository, reference)
        finally:
            self._changed(repository)
        if not found:
            raise ManifestUnknown(f"manifest {reference} is unknown to {repository}")

    def delete_repository(self, repository: str) -> None:
        """Delete every manifest and tag of ``repository`` (NAME_UNKNOWN when it has none);
        garbage collection reclaims the blobs."""
        self.cache.invalidate(repository)
        try:
            found = Inventory(self.meta.db).delete_repository(repository)
        finally:
            self._changed(repository)
        if not found:
            raise NameUnknown(f"repository {repository} is not known to this registry")

    # --- listings ------------------------------------------------------------------------

    def cached_tags(self, repository: str) -> list[str] | None:
        return self.cache.tags(repository)

    def tags(self, repository: str) -> list[str]:
        """Every tag of ``repository``, sorted (NAME_UNKNOWN when there is no such repository)."""
        cached = self.cache.tags(repository)
        if cached is not None:
            return cached
        generation = self.cache.generation(repository)
        names = self.meta.tags(repository, None, None)
        if names is None:
            raise NameUnknown(f"repository {repository} is not known to this registry")
        self.cache.put_tags(repository, names, generation)
        return names

    def catalog(self, n: int | None, last: str | None) -> list[str]:
        return self.meta.catalog(n, last)

    def referrers(self, repository: str, subject: Digest, artifact_type: str | None) -> bytes:
        """The referrers index of ``subject`` (an empty one when nothing refers to it)."""
        entries: list[dict[str, Any]] = []
        for r in self.meta.referrers(repository, str(subject)):
            if artifact_type is not None and r.artifact_type != artifact_type:
                continue
            d: dict[str, Any] = {"mediaType": r.media_type, "digest": r.digest, "size": r.size}
            if r.artifact_type:
                d["artifactType"] = r.artifact_type
            if r.annotations:
                d["annotations"] = json.loads(r.annotations)
            entries.append(d)
        index = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": entries}
        return json.dumps(index, separators=(",", ":")).encode()

    # --- housekeeping --------------------------------------------------------------------

    def purge_uploads(self, max_age: float) -> int:
        """Drop upload sessions idle for more than ``max_age`` seconds."""
        try:
            return self.uploads.purge(time.time() - max_age)
        except NotFound:
            return 0
