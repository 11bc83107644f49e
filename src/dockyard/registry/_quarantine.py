"""Quarantine: a blob whose bytes do not match its digest is moved aside, never deleted.

Its record and every repository's link to it are dropped in the same write transaction as
the move, so the registry answers BLOB_UNKNOWN for it from then on and clients push it again
(which puts good bytes back). The bad bytes stay under ``quarantine/`` for an operator to
inspect; garbage collection never looks there.
"""

from __future__ import annotations

import time
import uuid

from dockyard.digest import Digest
from dockyard.errors import NotFound
from dockyard.registry.metadata import RegistryMetadata
from dockyard.registry.storage import StorageDriver, blob_key, quarantine_key

__all__ = ["quarantine_blob"]


def quarantine_blob(storage: StorageDriver, meta: RegistryMetadata, digest: Digest) -> str | None:
    """Move ``digest``'s bytes to ``quarantine/`` and forget the blob; the key the bytes went
    to, or None when they were already gone (the records are dropped either way)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:8]
    target = quarantine_key(digest, stamp)
    moved: list[str] = []

    def move() -> None:
        try:
            storage.move(blob_key(digest), target)
        except NotFound:
            return
        moved.append(target)

    meta.forget_blob(str(digest), move)
    return moved[0] if moved else None
