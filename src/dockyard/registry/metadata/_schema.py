"""The registry's SQL schema (SQLAlchemy Core): SQLite by default, PostgreSQL-ready.

Blob bytes live in the storage driver; everything a client lists or resolves lives here, so
catalog and tag listing never touch the disk. Manifests are small (≤ 4 MiB) and are kept in
the database whole, which makes a manifest GET one indexed lookup.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "blobs",
    "manifest_refs",
    "manifests",
    "metadata",
    "registry_state",
    "repo_blobs",
    "repositories",
    "tags",
    "uploads",
]

metadata = MetaData()

_DIGEST = String(200)

repositories = Table(
    "repositories",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
)

#: Blobs whose verified bytes are in storage (one row per digest, shared by all repositories).
blobs = Table(
    "blobs",
    metadata,
    Column("digest", _DIGEST, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("created_at", Float, nullable=False),
)

#: Which repositories may serve which blobs (a push or a mount makes the link).
repo_blobs = Table(
    "repo_blobs",
    metadata,
    Column("repo_id", Integer, ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True),
    Column("digest", _DIGEST, primary_key=True),
    Column("created_at", Float, nullable=False),
    Index("ix_repo_blobs_digest", "digest"),
)

manifests = Table(
    "manifests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("repo_id", Integer, ForeignKey("repositories.id", ondelete="CASCADE"), nullable=False),
    Column("digest", _DIGEST, nullable=False),
    Column("media_type", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content", LargeBinary, nullable=False),
    #: artifactType, else the config media type of an image manifest (what referrers report)
    Column("artifact_type", String(255)),
    Column("subject", _DIGEST),
    #: the manifest's annotations as JSON text (referrers report them)
    Column("annotations", Text),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("repo_id", "digest", name="uq_manifests_repo_digest"),
    Index("ix_manifests_subject", "repo_id", "subject"),
    Index("ix_manifests_digest", "digest"),
)

#: What a manifest points at: blobs (config, layers) and child manifests (index entries).
manifest_refs = Table(
    "manifest_refs",
    metadata,
    Column("manifest_id", Integer, ForeignKey("manifests.id", ondelete="CASCADE"), nullable=False),
    Column("digest", _DIGEST, nullable=False),
    #: "blob" or "manifest"
    Column("kind", String(16), nullable=False),
    UniqueConstraint("manifest_id", "digest", "kind", name="uq_manifest_refs"),
    Index("ix_manifest_refs_digest", "digest"),
)

tags = Table(
    "tags",
    metadata,
    Column("repo_id", Integer, ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("manifest_id", Integer, ForeignKey("manifests.id", ondelete="CASCADE"), nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_tags_manifest", "manifest_id"),
)

#: Upload sessions; the bytes are in storage at uploads/<id>/data, ``offset`` is how many of
#: them are durable and acknowledged. The hash state is rebuilt from those bytes after a restart.
uploads = Table(
    "uploads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("repo_id", Integer, ForeignKey("repositories.id", ondelete="CASCADE"), nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    #: the running hash of the acknowledged bytes (``registry._hash_state``), so that the
    #: session's next request may go on in any process without reading them back
    Column("hash_state", LargeBinary),
)

#: Small shared counters, e.g. ``generation``: bumped by writers outside the serving process
#: (garbage collection) so that servers drop their caches.
registry_state = Table(
    "registry_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)
