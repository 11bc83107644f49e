"""LocalStore: the content store, its metadata and its OCI layout, as the commands use them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import TracebackType

from dockyard.content import ContentStore
from dockyard.digest import Digest
from dockyard.errors import BlobUnknown, InvalidArgument, NotFound
from dockyard.local._gc import GcResult, collect
from dockyard.local._layout import ensure_layout, write_index
from dockyard.local._lease import Lease
from dockyard.local._lock import file_lock
from dockyard.local._paths import default_root
from dockyard.metadata import ImageRecord, LeaseRecord, MetadataStore, TagRecord
from dockyard.oci import Descriptor
from dockyard.oci.mediatypes import is_index, is_manifest
from dockyard.reference import Reference
from dockyard.storefiles import DB_FILE

__all__ = ["DB_FILE", "LOCK_FILE", "LocalStore"]

LOCK_FILE = ".lock"
DEFAULT_LEASE = timedelta(hours=1)


class LocalStore:
    """The local image store. ``root`` is an OCI image layout plus ``dockyard.db``, ``ingest/``
    and ``.lock``, which layout readers (skopeo, umoci) ignore."""

    def __init__(self, root: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        with file_lock(self.root / LOCK_FILE):
            ensure_layout(self.root)
            self.content = ContentStore(self.root)
            self.metadata = MetadataStore(self.root / DB_FILE, clock=clock)

    @classmethod
    def open(
        cls, root: Path | None = None, *, clock: Callable[[], float] = time.time
    ) -> LocalStore:
        """Open (creating if needed) the store at ``root``; ``None`` means ``$DOCKYARD_ROOT``,
        else ``$XDG_DATA_HOME/dockyard``, else ``~/.local/share/dockyard``."""
        return cls(default_root() if root is None else root, clock=clock)

    def close(self) -> None:
        self.metadata.close()

    def __enter__(self) -> LocalStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- tags ------------------------------------------------------------------------------

    def set_tag(self, ref: Reference, target: Descriptor) -> None:
        """Point ``ref`` (with a tag and/or digest) at a manifest or index in the store."""
        if ref.tag is None and ref.digest is None:
            raise InvalidArgument(
                f"cannot name an image {ref.familiar_name} without a tag or digest; "
                f"use e.g. {ref.familiar_name}:latest"
            )
        if ref.digest is not None and ref.digest != target.digest:
            raise InvalidArgument(
                f"reference {ref.familiar} names digest {ref.digest} but the image is "
                f"{target.digest}; drop the digest from the name or tag the right image"
            )
        if not (is_manifest(target.media_type) or is_index(target.media_type)):
            raise InvalidArgument(
                f"cannot tag {target.digest} of type {target.media_type}: only image manifests "
                "and indexes can be tagged"
            )
        with file_lock(self.root / LOCK_FILE):
            with self.metadata.write():
                if not self.content.exists(target.digest):
                    raise BlobUnknown(
                        f"cannot tag {ref.familiar}: manifest {target.digest} is not in the "
                        "local store; pull or load the image first"
                    )
                self.metadata.set_tag(ref, target)
            self._write_index()

    def remove_tag(self, ref: Reference) -> Descriptor:
        """Remove a name; returns what it pointed at. The image record stays (see gc)."""
        ref = _with_default_tag(ref)
        with file_lock(self.root / LOCK_FILE):
            record = self.metadata.remove_tag(ref)
            if record is None:
                raise NotFound(f"No such image: {ref.familiar}")
            self._write_index()
        return record.target

    def resolve(self, ref: Reference) -> Descriptor:
        """The descriptor ``ref`` names. A bare name means ``:latest``; ``name@digest`` also
        matches any tag of that repository pointing at the digest."""
        ref = _with_default_tag(ref)
        record = self.metadata.get_tag(ref)
        if record is not None:
            return record.target
        if ref.digest is not None:
            for tag in self.metadata.tags(target=ref.digest, repository=ref.name):
                return tag.target
        raise NotFound(f"No such image: {ref.familiar}")

    def tags(self, *, target: Digest | None = None) -> list[TagRecord]:
        """Every tag sorted by full name, or only those pointing at ``target``."""
        return self.metadata.tags(target=target)

    def rebuild_index(self) -> None:
        """Rewrite index.json from the tags (after a crash between a tag change and its write)."""
        with file_lock(self.root / LOCK_FILE):
            self._write_index()

    def _write_index(self) -> None:
        write_index(self.root, self.metadata.tags())

    # --- image records ---------------------------------------------------------------------

    def record_image(
        self, manifest_digest: Digest, config_digest: Digest | None, created: str | None
    ) -> None:
        """Record an image (tagged or not) whose manifest or index is in the store."""
        with self.metadata.write():
            if not self.content.exists(manifest_digest):
                raise BlobUnknown(
                    f"cannot record image {manifest_digest}: its manifest is not in the local "
                    "store; write the manifest first"
                )
            self.metadata.record_image(manifest_digest, config_digest, created)

    def image(self, manifest_digest: Digest) -> ImageRecord:
        record = self.metadata.image(manifest_digest)
        if record is None:
            raise NotFound(f"No such image: {manifest_digest}")
        return record

    def images(self) -> list[ImageRecord]:
        """Every image record, tagged or not (dangling), newest first."""
        return self.metadata.images()

    def touch(self, manifest_digest: Digest) -> None:
        """Mark an image as used now."""
        if not self.metadata.touch(manifest_digest):
            raise NotFound(f"No such image: {manifest_digest}")

    def remove_image(self, manifest_digest: Digest) -> None:
        """Drop the image record and its labels; gc then frees blobs nothing else needs."""
        if not self.metadata.remove_image(manifest_digest):
            raise NotFound(f"No such image: {manifest_digest}")

    # --- labels ----------------------------------------------------------------------------

    def set_labels(self, digest: Digest, labels: Mapping[str, str | None]) -> dict[str, str]:
        """Set labels on a digest (``None`` removes one); returns all its labels."""
        return self.metadata.set_labels(digest, labels)

    def labels(self, digest: Digest) -> dict[str, str]:
        return self.metadata.labels(digest)

    # --- leases and gc ---------------------------------------------------------------------

    @contextmanager
    def lease(
        self, *, expires_in: timedelta = DEFAULT_LEASE, description: str = ""
    ) -> Iterator[Lease]:
        """Hold a lease for the block: blobs written meanwhile survive a concurrent gc."""
        seconds = expires_in.total_seconds()
        with self.metadata.write(durable=False):  # a lease lives with its process (see Lease)
            record = self.metadata.create_lease(seconds, description)
        lease = Lease(self.metadata, self.content, record, seconds)
        try:
            yield lease
        finally:
            lease.release()

    def leases(self) -> list[LeaseRecord]:
        """Live (unexpired) leases."""
        return self.metadata.leases()

    def gc(self, dry_run: bool = False) -> GcResult:
        """Delete blobs unreachable from tags, image records, live leases and gc labels."""
        return collect(self.content, self.metadata, dry_run=dry_run)


def _with_default_tag(ref: Reference) -> Reference:
    return ref.with_tag("latest") if ref.tag is None and ref.digest is None else ref
