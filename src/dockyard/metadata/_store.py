"""MetadataStore: tags, image records, labels and leases in SQLite."""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from dockyard.digest import Digest
from dockyard.errors import InvalidArgument, NotFound
from dockyard.metadata._db import DEFAULT_BUSY_TIMEOUT, Database
from dockyard.metadata._records import ImageRecord, LeaseRecord, TagRecord, from_timestamp
from dockyard.oci import Descriptor
from dockyard.reference import Reference

__all__ = ["MetadataStore"]

_MAX_LABEL = 4096  # key + value, as containerd limits them


class MetadataStore:
    """Records about the blobs in a content store. Every method is one transaction; wrap
    several in ``with store.write():`` (or ``read()``) to make them one."""

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._db = Database(self.path, busy_timeout=busy_timeout)

    def close(self) -> None:
        self._db.close()

    @property
    def schema_version(self) -> int:
        return self._db.schema_version

    def now(self) -> float:
        return self._clock()

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction (``durable=False``: see :meth:`Database.write`)."""
        with self._db.write(durable=durable) as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._db.read() as conn:
            yield conn

    # --- tags ------------------------------------------------------------------------------

    def set_tag(self, ref: Reference, target: Descriptor) -> None:
        now = self._clock()
        with self.write() as conn:
            conn.execute(
                """INSERT INTO tags (name, repository, target_digest, media_type, size,
                                     descriptor, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(name) DO UPDATE SET
                     target_digest = excluded.target_digest, media_type = excluded.media_type,
                     size = excluded.size, descriptor = excluded.descriptor,
                     updated_at = excluded.updated_at""",
                (
                    str(ref),
                    ref.name,
                    str(target.digest),
                    target.media_type,
                    target.size,
                    json.dumps(target.to_json(), sort_keys=True, separators=(",", ":")),
                    now,
                    now,
                ),
            )

    def get_tag(self, ref: Reference) -> TagRecord | None:
        with self.read() as conn:
            row = conn.execute(_TAG_SELECT + " WHERE name = ?", (str(ref),)).fetchone()
        return None if row is None else _tag(row)

    def remove_tag(self, ref: Reference) -> TagRecord | None:
        with self.write() as conn:
            row = conn.execute(_TAG_SELECT + " WHERE name = ?", (str(ref),)).fetchone()
            if row is not None:
                conn.execute("DELETE FROM tags WHERE name = ?", (str(ref),))
        return None if row is None else _tag(row)

    def tags(
        self, *, target: Digest | None = None, repository: str | None = None
    ) -> list[TagRecord]:
        """Tags sorted by name, optionally only those pointing at ``target`` or in a repository."""
        where, args = [], []
        if target is not None:
            where.append("target_digest = ?")
            args.append(str(target))
        if repository is not None:
            where.append("repository = ?")
            args.append(repository)
        sql = _TAG_SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY name"
        with self.read() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [_tag(row) for row in rows]

    # --- image records ---------------------------------------------------------------------

    def record_image(
        self, manifest_digest: Digest, config_digest: Digest | None, created: str | None
    ) -> None:
        """Add or refresh an image record; ``last_used_at`` is kept."""
        now = self._clock()
        with self.write() as conn:
            conn.execute(
                """INSERT INTO images (manifest_digest, config_digest, created, recorded_at)
                   VALUES (?, ?, ?, ?)
                   ON CONFLICT(manifest_digest) DO UPDATE SET
                     config_digest = excluded.config_digest, created = excluded.created""",
                (str(manifest_digest), _opt(config_digest), created, now),
            )

    def image(self, manifest_digest: Digest) -> ImageRecord | None:
        with self.read() as conn:
            row = conn.execute(
                _IMAGE_SELECT + " WHERE manifest_digest = ?", (str(manifest_digest),)
            ).fetchone()
        return None if row is None else _image(row)

    def images(self) -> list[ImageRecord]:
        """Every image record, newest first."""
        with self.read() as conn:
            rows = conn.execute(
                _IMAGE_SELECT + " ORDER BY recorded_at DESC, manifest_digest"
            ).fetchall()
        return [_image(row) for row in rows]

    def touch(self, manifest_digest: Digest) -> bool:
        """Set the last-used time; False when there is no such record."""
        with self.write() as conn:
            cur = conn.execute(
                "UPDATE images SET last_used_at = ? WHERE manifest_digest = ?",
                (self._clock(), str(manifest_digest)),
            )
            return cur.rowcount > 0

    def remove_image(self, manifest_digest: Digest) -> bool:
        """Drop an image record and its labels; False when there was none."""
        with self.write() as conn:
            cur = conn.execute(
                "DELETE FROM images WHERE manifest_digest = ?", (str(manifest_digest),)
            )
            if cur.rowcount:
                conn.execute("DELETE FROM labels WHERE subject = ?", (str(manifest_digest),))
            return cur.rowcount > 0

    # --- labels ----------------------------------------------------------------------------

    def set_labels(self, subject: Digest, labels: Mapping[str, str | None]) -> dict[str, str]:
        """Set (or, with ``None``, remove) labels on a digest; returns all its labels."""
        for key, value in labels.items():
            if not key or len(key) + len(value or "") > _MAX_LABEL:
                raise InvalidArgument(
                    f"invalid label {key!r}: keys must be non-empty and key + value at most "
                    f"{_MAX_LABEL} characters"
                )
        with self.write() as conn:
            for key, value in labels.items():
                if value is None:
                    conn.execute(
                        "DELETE FROM labels WHERE subject = ? AND key = ?", (str(subject), key)
                    )
                else:
                    conn.execute(
                        """INSERT INTO labels (subject, key, value) VALUES (?, ?, ?)
                           ON CONFLICT(subject, key) DO UPDATE SET value = excluded.value""",
                        (str(subject), key, value),
                    )
            return self.labels(subject)

    def labels(self, subject: Digest) -> dict[str, str]:
        with self.read() as conn:
            rows = conn.execute(
                "SELECT key, value FROM labels WHERE subject = ? ORDER BY key", (str(subject),)
            ).fetchall()
        return {str(k): str(v) for k, v in rows}

    def labelled(self, key_prefix: str) -> list[tuple[Digest, str, str]]:
        """Every ``(subject, key, value)`` whose key starts with ``key_prefix``."""
        with self.read() as conn:
            rows = conn.execute(
                "SELECT subject, key, value FROM labels WHERE substr(key, 1, ?) = ?"
                " ORDER BY subject, key",
                (len(key_prefix), key_prefix),
            ).fetchall()
        return [(Digest.parse(s), str(k), str(v)) for s, k, v in rows]

    # --- leases ----------------------------------------------------------------------------

    def create_lease(self, expires_in: float, description: str = "") -> LeaseRecord:
        if expires_in < 0:
            raise InvalidArgument(f"invalid lease expiry {expires_in}s: must not be negative")
        lease_id = secrets.token_hex(16)
        now = self._clock()
        with self.write() as conn:
            conn.execute(
                "INSERT INTO leases (id, created_at, expires_at, pid, description)"
                " VALUES (?, ?, ?, ?, ?)",
                (lease_id, now, now + expires_in, os.getpid(), description),
            )
        return LeaseRecord(
            lease_id,
            from_timestamp(now),
            from_timestamp(now + expires_in),
            os.getpid(),
            description,
            (),
        )

    def add_to_lease(self, lease_id: str, digest: Digest) -> None:
        with self.write() as conn:
            if not self._lease_exists(conn, lease_id):
                raise NotFound(
                    f"lease {lease_id} has expired or was released; start the operation again"
                )
            conn.execute(
                "INSERT OR IGNORE INTO lease_blobs (lease_id, digest) VALUES (?, ?)",
                (lease_id, str(digest)),
            )

    def renew_lease(self, lease_id: str, expires_in: float) -> None:
        with self.write() as conn:
            cur = conn.execute(
                "UPDATE leases SET expires_at = ? WHERE id = ? AND expires_at > ?",
                (self._clock() + expires_in, lease_id, self._clock()),
            )
            if not cur.rowcount:
                raise NotFound(
                    f"lease {lease_id} has expired or was released; start the operation again"
                )

    def release_lease(self, lease_id: str) -> None:
        with self.write() as conn:
            conn.execute("DELETE FROM leases WHERE id = ?", (lease_id,))

    def lease(self, lease_id: str) -> LeaseRecord | None:
        return next((le for le in self.leases(include_expired=True) if le.id == lease_id), None)

    def leases(self, *, include_expired: bool = False) -> list[LeaseRecord]:
        now = self._clock()
        with self.read() as conn:
            rows = conn.execute(
                "SELECT id, created_at, expires_at, pid, description FROM leases"
                + ("" if include_expired else " WHERE expires_at > ?")
                + " ORDER BY created_at, id",
                () if include_expired else (now,),
            ).fetchall()
            blobs: dict[str, list[Digest]] = {}
            for lease_id, digest in conn.execute("SELECT lease_id, digest FROM lease_blobs"):
                blobs.setdefault(str(lease_id), []).append(Digest.parse(digest))
        return [
            LeaseRecord(
                str(i),
                from_timestamp(c),
                from_timestamp(e),
                int(p),
                str(d),
                tuple(sorted(blobs.get(str(i), []))),
            )
            for i, c, e, p, d in rows
        ]

    def expire_leases(self) -> int:
        """Delete expired leases; returns how many."""
        with self.write() as conn:
            cur = conn.execute("DELETE FROM leases WHERE expires_at <= ?", (self._clock(),))
            return cur.rowcount

    def _lease_exists(self, conn: sqlite3.Connection, lease_id: str) -> bool:
        row = conn.execute(
            "SELECT 1 FROM leases WHERE id = ? AND expires_at > ?", (lease_id, self._clock())
        ).fetchone()
        return row is not None


_TAG_SELECT = "SELECT name, descriptor, created_at, updated_at FROM tags"
_IMAGE_SELECT = (
    "SELECT manifest_digest, config_digest, created, recorded_at, last_used_at FROM images"
)


def _opt(d: Digest | None) -> str | None:
    return None if d is None else str(d)


def _tag(row: tuple[str, str, float, float]) -> TagRecord:
    name, descriptor, created_at, updated_at = row
    return TagRecord(
        Reference.parse(name),
        Descriptor.from_json(json.loads(descriptor)),
        from_timestamp(created_at),
        from_timestamp(updated_at),
    )


def _image(row: tuple[str, str | None, str | None, float, float | None]) -> ImageRecord:
    digest, config, created, recorded_at, last_used_at = row
    return ImageRecord(
        Digest.parse(digest),
        None if config is None else Digest.parse(config),
        created,
        from_timestamp(recorded_at),
        None if last_used_at is None else from_timestamp(last_used_at),
    )
