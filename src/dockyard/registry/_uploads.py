"""Blob uploads: sessions whose bytes stream to storage and survive a restart.

The database holds each session's acknowledged offset, with the running hash of those bytes
(:mod:`._hash_state`: the next request may land on any process); the bytes are at
``uploads/<id>/data``. A chunk is appended, fsynced, and only then acknowledged, so after a
crash (even ``kill -9``) the session resumes from its last acknowledged offset: anything
beyond it is dropped and the hash is rebuilt from the bytes on disk. A blob becomes visible
only once its digest is verified, by an atomic rename into ``blobs/``.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from dockyard.digest import SHA256, Digest, Digester
from dockyard.errors import (
    BlobUploadInvalid,
    BlobUploadUnknown,
    Conflict,
    DigestInvalid,
    NotFound,
    RangeNotSatisfiable,
)
from dockyard.registry._hash_state import ResumableSha256
from dockyard.registry._hash_state import available as hash_state_available
from dockyard.registry.metadata import RegistryMetadata
from dockyard.registry.storage import (
    FileWriter,
    StorageDriver,
    blob_key,
    check_upload_id,
    upload_data_key,
    upload_prefix,
)

__all__ = ["BlobUploads", "UploadWriter"]

_READ = 1 << 20


def _hasher(algorithm: str) -> Digester | ResumableSha256:
    """A new hash of ``algorithm``: one whose state can be saved when that can be had."""
    if algorithm == SHA256 and hash_state_available():
        return ResumableSha256()
    return Digester(algorithm)


@dataclass
class _HashState:
    offset: int
    digester: Digester | ResumableSha256 = field(default_factory=lambda: _hasher(SHA256))

    def saved(self) -> bytes | None:
        """The hash's state, for another process to go on from (None: it cannot be saved)."""
        digester = self.digester
        return digester.state() if isinstance(digester, ResumableSha256) else None


class UploadWriter:
    """Appends one request's bytes to a session. ``done()`` acknowledges them; ``abort()``
    drops them again, from the file too (the session stays at its previous offset)."""

    def __init__(self, uploads: BlobUploads, upload_id: str, offset: int, state: _HashState):
        self._uploads = uploads
        self.upload_id = upload_id
        self.start = offset
        self._acknowledged = offset
        self._state = state
        try:
            self._file: FileWriter = uploads.storage.writer(upload_data_key(upload_id), offset)
        except Conflict:
            raise BlobUploadInvalid(
                f"upload {upload_id} is receiving another request; wait for it to finish"
            ) from None

    @property
    def offset(self) -> int:
        return self._file.size

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._file.write(data)
        self._state.digester.update(data)

    def done(self) -> int:
        """Make the bytes durable and acknowledge them; the new offset. The file stays locked
        until the database says so, so a trim never sees bytes that are not yet recorded."""
        self._file.commit()
        self._state.offset = self._file.size
        self._uploads.acknowledge(self.upload_id, self._state)
        self._acknowledged = self._state.offset
        self._file.close()
        self._uploads.idle(self.upload_id)
        return self._state.offset

    def abort(self) -> None:
        """Drop what this request wrote beyond the acknowledged offset (a client that went
        away mid-chunk leaves nothing behind) and forget the hash state."""
        try:
            self._file.truncate(self._acknowledged)
        finally:
            self._file.close()
            self._uploads.release(self.upload_id)


class BlobUploads:
    """Upload sessions: start, append, finish (verify + publish), cancel, status."""

    def __init__(self, storage: StorageDriver, meta: RegistryMetadata) -> None:
        self.storage = storage
        self.meta = meta
        self._lock = threading.Lock()
        self._hashes: dict[str, _HashState] = {}
        self._busy: set[str] = set()

    # --- sessions ----------------------------------------------------------------------

    def start(self, repository: str, *, persistent: bool = True) -> str:
        """A new session id; ``persistent=False`` for single-request uploads (no DB row)."""
        upload_id = uuid.uuid4().hex
        self.storage.writer(upload_data_key(upload_id), 0).close()
        if persistent:
            self.meta.create_upload(upload_id, repository)
        return upload_id

    def offset(self, repository: str, upload_id: str) -> int:
        """The acknowledged size of a session (BLOB_UPLOAD_UNKNOWN when there is none). Bytes
        on disk beyond it (a request cut off by a crash of the server) are dropped first, so
        the data file always holds what the status reports."""
        check_upload_id(upload_id)
        record = self.meta.upload(upload_id, repository)
        if record is None:
            raise BlobUploadUnknown(
                f"upload {upload_id} is unknown in {repository}: it finished, was cancelled, "
                "or never started — start a new upload with POST /v2/<name>/blobs/uploads/"
            )
        key = upload_data_key(upload_id)
        info = self.storage.stat(key)
        with self._lock:
            busy = upload_id in self._busy
        if not busy and info is not None and info.size > record.offset:
            self.storage.trim(key, lambda: self._recorded(upload_id))
        return record.offset

    def _recorded(self, upload_id: str) -> int | None:
        """The offset the database holds now (asked while the data file is locked)."""
        record = self.meta.upload_by_id(upload_id)
        return None if record is None else record.offset

    def open(self, repository: str, upload_id: str, start: int | None) -> UploadWriter:
        """A writer appending at the session's offset; ``start`` is where the client says
        its chunk begins (416 when that is not where the upload ends)."""
        offset = self.offset(repository, upload_id)
        if start is not None and start != offset:
            raise RangeNotSatisfiable(
                f"chunk starts at byte {start} but upload {upload_id} has {offset} bytes; "
                f"send the chunk that starts at {offset}",
                detail={"offset": offset},
            )
        return self._writer(upload_id, offset)

    def open_unrecorded(self, upload_id: str) -> UploadWriter:
        """A writer for a single-request upload started with ``persistent=False``."""
        with self._lock:
            self._busy.add(upload_id)
        try:
            return UploadWriter(self, upload_id, 0, _HashState(0))
        except BaseException:
            self.release(upload_id)
            raise

    def _writer(self, upload_id: str, offset: int) -> UploadWriter:
        with self._lock:
            if upload_id in self._busy:
                raise BlobUploadInvalid(
                    f"upload {upload_id} is receiving another request; wait for it to finish"
                )
            self._busy.add(upload_id)
            state = self._hashes.get(upload_id)
        try:
            if state is None or state.offset != offset:
                state = self._rehash(upload_id, offset, SHA256)
            return UploadWriter(self, upload_id, offset, state)
        except BaseException:
            self.release(upload_id)
            raise

    def _rehash(self, upload_id: str, offset: int, algorithm: str) -> _HashState:
        """The hash of the first ``offset`` bytes: from the state saved with them (the last
        request ran in another process), else read back from storage (after a restart,
        another algorithm, a state this process cannot take up). Either way the bytes must
        still be there (BLOB_UPLOAD_INVALID when the storage lost some)."""
        key = upload_data_key(upload_id)
        info = self.storage.stat(key)
        if info is None or info.size < offset:
            raise BlobUploadInvalid(
                f"upload {upload_id} lost data it had acknowledged ({offset} bytes expected, "
                f"{0 if info is None else info.size} on disk); cancel it and upload again"
            )
        if algorithm == SHA256:
            saved = self.meta.upload_hash_state(upload_id)
            if saved is not None and saved[0] == offset:
                restored = ResumableSha256.restore(saved[1], offset)
                if restored is not None:
                    return _HashState(offset, restored)
        state = _HashState(0, _hasher(algorithm))
        with self.storage.reader(key) as f:
            remaining = offset
            while remaining:
                chunk = f.read(min(_READ, remaining))
                if not chunk:
                    break
                state.digester.update(chunk)
                remaining -= len(chunk)
        state.offset = offset
        return state

    def acknowledge(self, upload_id: str, state: _HashState) -> None:
        self.meta.set_upload_offset(upload_id, state.offset, state.saved())
        with self._lock:
            self._hashes[upload_id] = state

    def idle(self, upload_id: str) -> None:
        """The session's request has finished (its hash state is kept for the next one)."""
        with self._lock:
            self._busy.discard(upload_id)

    def release(self, upload_id: str) -> None:
        with self._lock:
            self._hashes.pop(upload_id, None)
            self._busy.discard(upload_id)

    # --- completion ----------------------------------------------------------------------

    def finish(self, repository: str, upload_id: str, expected: Digest, size: int) -> int:
        """Verify the acknowledged bytes against ``expected`` and publish them as a blob."""
        with self._lock:
            state = self._hashes.get(upload_id)
        if state is None or state.offset != size or state.digester.algorithm != expected.algorithm:
            try:
                state = self._rehash(upload_id, size, expected.algorithm)
            except BlobUploadInvalid:
                if not self._published(repository, expected, size):
                    raise
                # a process that published this upload died before it closed the session
                # (between _publish's move and its cancel); the client's PUT, sent again
                # (by itself or by a load balancer), finds the blob in place: done
                self.cancel(upload_id)
                return size
        actual = state.digester.digest()
        if actual != expected:
            self.cancel(upload_id)
            raise DigestInvalid(
                f"uploaded content has digest {actual}, not {expected} ({size} bytes); "
                "the upload is discarded — check the digest and upload again",
                detail={"expected": str(expected), "actual": str(actual)},
            )
        self._publish(repository, upload_id, expected, size)
        return size

    def _published(self, repository: str, digest: Digest, size: int) -> bool:
        """Whether ``digest`` is linked into ``repository`` and stored with ``size`` bytes."""
        if str(digest) not in self.meta.linked_blobs(repository, [str(digest)]):
            return False
        stored = self.storage.stat(blob_key(digest))
        return stored is not None and stored.size == size

    def _publish(self, repository: str, upload_id: str, digest: Digest, size: int) -> None:
        # Record first, then make sure the bytes are in place: garbage collection deletes a
        # blob's file inside the same write transaction that re-checks the blob's time, so
        # once this record is committed no collection can remove the file. A crash between
        # the two leaves a record without bytes; every reader checks the file as well (blob
        # GET/HEAD, mount, and a manifest PUT's blob check), so such a blob counts as absent
        # and the client uploads it again, which puts the file in place.
        self.meta.add_blob(repository, str(digest), size)
        key = blob_key(digest)
        stored = self.storage.stat(key)
        if stored is not None and stored.size == size:
            self.storage.delete(upload_prefix(upload_id))
        else:
            self.storage.move(upload_data_key(upload_id), key)
        self.cancel(upload_id)

    def cancel(self, upload_id: str) -> bool:
        """Forget a session and delete its bytes; whether there was one in the database."""
        self.release(upload_id)
        existed = self.meta.delete_upload(upload_id)
        self.storage.delete(upload_prefix(upload_id))
        return existed

    def purge(self, older_than: float) -> int:
        """Delete sessions untouched since ``older_than`` and stray single-request uploads."""
        count = 0
        for upload_id in self.meta.stale_uploads(older_than):
            self.cancel(upload_id)
            count += 1
        known: set[str] = set()
        try:
            keys = list(self.storage.list("uploads"))
        except NotFound:
            keys = []
        for key in keys:
            parts = key.split("/")
            if len(parts) < 2 or parts[1] in known:
                continue
            info = self.storage.stat(key)
            if (
                info is not None
                and info.mtime < older_than
                and not self.meta.upload_recorded(parts[1])
            ):
                self.storage.delete(f"uploads/{parts[1]}")
                count += 1
            known.add(parts[1])
        return count
