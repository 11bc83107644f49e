"""The metadata schema, as an append-only list of migrations (``PRAGMA user_version``)."""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

#: Migration N (1-based) brings a database from version N-1 to N. Never edit a released entry;
#: append a new one.
MIGRATIONS: tuple[str, ...] = (
    # 1: tags, image records, labels, leases
    """
    CREATE TABLE tags (
        name          TEXT PRIMARY KEY,        -- full reference: docker.io/library/busybox:latest
        repository    TEXT NOT NULL,           -- docker.io/library/busybox
        target_digest TEXT NOT NULL,
        media_type    TEXT NOT NULL,
        size          INTEGER NOT NULL,
        descriptor    TEXT NOT NULL,           -- the target descriptor as OCI JSON
        created_at    REAL NOT NULL,
        updated_at    REAL NOT NULL
    );
    CREATE INDEX tags_by_target ON tags(target_digest);
    CREATE INDEX tags_by_repository ON tags(repository);

    CREATE TABLE images (
        manifest_digest TEXT PRIMARY KEY,      -- manifest or index digest
        config_digest   TEXT,                  -- image ID; NULL for an index
        created         TEXT,                  -- the config's "created" field, as written
        recorded_at     REAL NOT NULL,
        last_used_at    REAL
    );

    CREATE TABLE labels (
        subject TEXT NOT NULL,                 -- a digest
        key     TEXT NOT NULL,
        value   TEXT NOT NULL,
        PRIMARY KEY (subject, key)
    ) WITHOUT ROWID;

    CREATE TABLE leases (
        id          TEXT PRIMARY KEY,
        created_at  REAL NOT NULL,
        expires_at  REAL NOT NULL,
        pid         INTEGER NOT NULL,
        description TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE lease_blobs (
        lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
        digest   TEXT NOT NULL,
        PRIMARY KEY (lease_id, digest)
    ) WITHOUT ROWID;
    CREATE INDEX lease_blobs_by_digest ON lease_blobs(digest);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
